import { Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DevServer, startDevServer, stopEmbeddedServer } from './dev-server';
import { ensureTemporal } from './ensure';
import { freePort } from './ports';
import { probeTemporal } from './probe';
import { isAlive } from './processes';
import { readServerRecord, writeServerRecord } from './server-record';
import { installTemporalCli } from './temporal-cli';
import { sharedToolsDir } from './test-support';

const WORKSPACE_TOOLS_DIR = sharedToolsDir();
jest.setTimeout(120_000);

let cliPath: string;
let state: string;
const running: DevServer[] = [];
const savedEnv = { address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE };

beforeAll(async () => {
  cliPath = await installTemporalCli(WORKSPACE_TOOLS_DIR);
}, 10 * 60_000);

beforeEach(async () => {
  state = await fs.mkdtemp(path.join(os.tmpdir(), 'retain-ensure-'));
  delete process.env.TEMPORAL_ADDRESS;
  delete process.env.TEMPORAL_NAMESPACE;
});

afterEach(async () => {
  restoreEnv('TEMPORAL_ADDRESS', savedEnv.address);
  restoreEnv('TEMPORAL_NAMESPACE', savedEnv.namespace);
  await Promise.all(running.splice(0).map((server) => server.stop()));
  await stopEmbeddedServer(state);
  await fs.rm(state, { recursive: true, force: true });
});

test('TEMPORAL_ADDRESS is used as is: nothing starts, the namespace comes from TEMPORAL_NAMESPACE, stop() leaves it running', async () => {
  const external = await startDevServer({ cliPath, stateDir: state, port: 0, namespace: 'lab' });
  running.push(external);
  process.env.TEMPORAL_ADDRESS = external.address;
  process.env.TEMPORAL_NAMESPACE = 'lab';
  const elsewhere = path.join(state, 'unused-state');

  const server = await ensureTemporal({ cliPath, stateDir: elsewhere, port: 0 });
  expect(server).toMatchObject({ address: external.address, namespace: 'lab', startedHere: false, pid: 0 });
  await server.stop();
  expect(await probeTemporal(external.address, 'lab')).toEqual({ ok: true });
  await expect(fs.stat(elsewhere)).rejects.toMatchObject({ code: 'ENOENT' }); // no state written, no server started
});

test('a detached embedded server is reused from server.json, and stopEmbeddedServer stops it', async () => {
  const first = await ensureTemporal({ cliPath, stateDir: state, port: 0, detached: true });
  expect(first.startedHere).toBe(true);
  // Detached: the server leads its own process group, so it survives a Ctrl-C sent to ours.
  expect(processGroupOf(first.pid)).toBe(first.pid);

  const second = await ensureTemporal({ stateDir: state, port: 0, searchAttributes: { RetainMethod: 'Keyword' } });
  expect(second).toMatchObject({ address: first.address, pid: first.pid, startedHere: false });
  const connection = await Connection.connect({ address: second.address });
  try {
    // Asked-for search attributes are added to the reused server.
    const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attributes.customAttributes)).toContain('RetainMethod');
  } finally {
    await connection.close();
  }
  await second.stop(); // not started here: a no-op
  expect(await probeTemporal(first.address, 'default')).toEqual({ ok: true });

  expect(await stopEmbeddedServer(state)).toBe(true);
  expect(isAlive(first.pid)).toBe(false);
  expect(await readServerRecord(state)).toBeUndefined();
  expect(await stopEmbeddedServer(state)).toBe(false);
});

test('a server.json whose process is gone is discarded and a new server starts', async () => {
  const exited = spawnSync(process.execPath, ['-e', '0']);
  await writeServerRecord(state, {
    pid: exited.pid as number,
    address: '127.0.0.1:1',
    port: 1,
    namespace: 'default',
    dbFile: path.join(state, 'old.sqlite'),
    logFile: path.join(state, 'old.log'),
    cliPath,
    detached: true,
    startedAt: new Date(0).toISOString(),
  });
  const server = await ensureTemporal({ cliPath, stateDir: state, port: 0 });
  running.push(server);
  expect(server.startedHere).toBe(true);
  expect(server.address).not.toBe('127.0.0.1:1');
  expect(await readServerRecord(state)).toMatchObject({ pid: server.pid, address: server.address });
});

/** The process group id: the third field after the command name in /proc/<pid>/stat. */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

test('two ensureTemporal calls racing on one state dir and port end up on one server', async () => {
  const port = await freePort();
  const [a, b] = await Promise.all([
    ensureTemporal({ cliPath, stateDir: state, port }),
    ensureTemporal({ cliPath, stateDir: state, port }),
  ]);
  running.push(a, b);
  expect(a.address).toBe(`127.0.0.1:${port}`);
  expect(b.address).toBe(a.address);
  expect(b.pid).toBe(a.pid);
  expect([a.startedHere, b.startedHere].sort()).toEqual([false, true]);
});
