import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/**
 * Separate hosts on this machine for the multi-host tests: one Linux network namespace per host,
 * each with its own address on one bridge (itself in a namespace of its own), plus a link from
 * this process's namespace so the test can observe. Traffic never leaves the machine. Needs root
 * (CI runs as root); without it the test fails, saying so.
 */
export interface TestHost {
  name: string;
  /** The network namespace the host's processes run in. */
  netns: string;
  address: string;
}

export interface TestNetwork {
  hosts: Record<string, TestHost>;
  /** Runs `command args` on `host`; its output goes to `onOutput`. */
  spawnOn(host: string, command: string, args: string[], env: NodeJS.ProcessEnv, onOutput?: (text: string) => void): ChildProcess;
  /** Kills every process of `host` with SIGKILL, as a machine that loses power. */
  kill(host: string): void;
  /** The pids of `host`'s processes. */
  pids(host: string): number[];
  destroy(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

export function createTestNetwork(names: string[]): TestNetwork {
  if (process.getuid?.() !== 0) {
    throw new Error('the multi-host test makes network namespaces (ip netns) and needs root: run it as root, as CI does');
  }
  // Unique per test process, so parallel or leftover runs never share names or a subnet.
  const id = (process.pid % 4096).toString(16);
  const subnet = `10.${77 + (process.pid % 100)}.${process.pid % 250}`;
  const switchNs = `rt${id}-sw`;
  const created: string[] = [];
  const hosts: Record<string, TestHost> = {};
  const destroy = (): void => {
    for (const name of Object.keys(hosts)) killAll(hosts[name].netns);
    for (const ns of created) spawnSyncQuiet('ip', ['netns', 'del', ns]);
    spawnSyncQuiet('ip', ['link', 'del', `rt${id}o`]);
  };
  try {
    ip('netns', 'add', switchNs);
    created.push(switchNs);
    ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', switchNs, 'link', 'set', 'br0', 'up');
    const plug = (end: string, bridgeEnd: string): void => {
      ip('link', 'add', end, 'type', 'veth', 'peer', 'name', bridgeEnd);
      ip('link', 'set', bridgeEnd, 'netns', switchNs);
      ip('-n', switchNs, 'link', 'set', bridgeEnd, 'master', 'br0', 'up');
    };
    names.forEach((name, i) => {
      const netns = `rt${id}-${name}`;
      ip('netns', 'add', netns);
      created.push(netns);
      const end = `rt${id}h${i}`;
      plug(end, `rt${id}b${i}`);
      ip('link', 'set', end, 'netns', netns);
      const address = `${subnet}.${i + 1}`;
      ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', end);
      ip('-n', netns, 'link', 'set', end, 'up');
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      hosts[name] = { name, netns, address };
    });
    // The observer's link: this process reaches every host (to query Temporal), as an operator would.
    plug(`rt${id}o`, `rt${id}bo`);
    ip('addr', 'add', `${subnet}.254/24`, 'dev', `rt${id}o`);
    ip('link', 'set', `rt${id}o`, 'up');
  } catch (err) {
    destroy();
    throw err;
  }
  const host = (name: string): TestHost => {
    const h = hosts[name];
    if (!h) throw new Error(`no host '${name}' in this test network (hosts: ${Object.keys(hosts).join(', ')})`);
    return h;
  };
  return {
    hosts,
    spawnOn(name, command, args, env, onOutput) {
      // `ip netns exec` execs the command: the child's pid is the command's own.
      const child = spawn('ip', ['netns', 'exec', host(name).netns, command, ...args], { env });
      child.stdout?.on('data', (d: Buffer) => onOutput?.(d.toString()));
      child.stderr?.on('data', (d: Buffer) => onOutput?.(d.toString()));
      return child;
    },
    kill: (name) => killAll(host(name).netns),
    pids: (name) => pidsOf(host(name).netns),
    destroy,
  };
}

function pidsOf(netns: string): number[] {
  try {
    return ip('netns', 'pids', netns).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killAll(netns: string): void {
  for (const pid of pidsOf(netns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function spawnSyncQuiet(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // Cleanup of something already removed.
  }
}
