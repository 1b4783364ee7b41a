import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_FASHION_MNIST_DIR } from '@retain/data';
import { retainCli, startRetain, type CliOutput } from './cli-process';

/**
 * Runs that cannot succeed, through the built CLI as a user meets them: a plugin that refuses its
 * input, a truncated dataset, a full disk, an unreachable server. Each fails on its first attempt
 * (the run's history has one attempt: nothing that retrying cannot fix is retried), says what
 * happened in one line that names the cause, shows no stack trace, exits with the documented code
 * (packages/cli/src/output.ts), and leaves nothing running.
 */
const SDK = resolve(__dirname, '../../packages/sdk');

/** A method plugin whose training refuses every task with a plain Error (as a plugin refusing its input would). */
const FAILING_PLUGIN = `'use strict';
const { definePlugin, z } = require('@retain/sdk');
module.exports = {
  plugins: [
    definePlugin({
      kind: 'method',
      name: 'refusing',
      version: '1.0.0',
      description: 'Refuses to train any task.',
      configSchema: z.strictObject({}),
      training: (ctx) => {
        throw new Error('task ' + ctx.taskIndex + ' has no replay buffer to draw from');
      },
    }),
  ],
};
`;

describe('a run that cannot succeed fails at once, in one clear line', () => {
  let dir: string;
  /** The state folder of the runs (its cache holds the workflow bundle, built once for all of them). */
  let home: string;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-run-failures-'));
    home = join(dir, 'home');
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  });
  afterAll(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A tiny spec on its own queue (the in-process worker of `retain run` polls it). */
  const writeSpec = (name: string, lines: string[]) => {
    const path = join(dir, `${name}.yaml`);
    const base = [
      `name: ${name}`,
      'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 200, testPerTask: 100 } }',
      'trainer: { name: supervised, config: { steps: 4 } }',
      `execution: { taskQueue: ${name}-${process.pid} }`,
    ];
    writeFileSync(path, [...base, ...lines, ''].join('\n'));
    return path;
  };

  /** Every attempt the run's activities made, from its history: [activity type, attempt]. */
  async function attempts(runId: string): Promise<Array<[string, number]>> {
    const history = await client.workflow.getHandle(runId).fetchHistory();
    const scheduled = new Map<string, string>();
    const out: Array<[string, number]> = [];
    for (const event of history.events ?? []) {
      const s = event.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(event.eventId), s.activityType?.name ?? '?');
      const started = event.activityTaskStartedEventAttributes;
      if (started) out.push([scheduled.get(String(started.scheduledEventId)) ?? '?', started.attempt ?? 0]);
    }
    return out;
  }

  /** What every failure must show: its code, one last line naming the cause, no stack trace, nothing left running. */
  async function expectFailedRun(out: CliOutput, runId: string, home: string, lastLine: RegExp): Promise<void> {
    expect({ code: out.code, last: lastLineOf(out.stderr) }).toEqual({ code: 3, last: expect.stringMatching(lastLine) });
    expect(`${out.stdout}${out.stderr}`).not.toMatch(/^\s+at /m);
    expect(out.stderr).not.toMatch(/Workflow execution failed|Activity task failed|\[WARN\]/);
    // One attempt: the activity's failure was not retried.
    expect((await attempts(runId)).every(([, attempt]) => attempt === 1)).toBe(true);
    expect((await client.workflow.getHandle(runId).describe()).status.name).toBe('FAILED');
    expect(processesNaming(home)).toEqual([]);
  }

  it('a plugin that refuses its input: exit 3 on the first attempt, naming plugin and task', async () => {
    const project = join(dir, 'project');
    const plugin = join(project, 'node_modules', 'retain-plugin-refusing');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'retain-plugin-refusing', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(plugin, 'index.js'), FAILING_PLUGIN);
    mkdirSync(join(project, 'node_modules', '@retain'));
    symlinkSync(SDK, join(project, 'node_modules', '@retain', 'sdk'), 'dir');
    const spec = writeSpec('fail-plugin', ['model: { name: mlp, config: { hidden: [8] } }', 'method: refusing']);
    const runId = `fail-plugin-${process.pid}`;
    const out = await retainCli(['run', spec, '--id', runId, '--plugins', 'retain-plugin-refusing'], { RETAIN_HOME: home }, project);
    await expectFailedRun(
      out,
      runId,
      home,
      new RegExp(`^retain: run ${runId} failed in trainTask: method refusing \\(task 0\\): task 0 has no replay buffer to draw from$`),
    );
    expect(await attempts(runId)).toEqual([
      ['startRun', 1],
      ['trainTask', 1],
    ]);
  });

  it('a truncated dataset file: exit 3 on the first attempt, naming the file', async () => {
    const data = join(dir, 'fmnist');
    mkdirSync(data);
    for (const base of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      symlinkSync(join(DEFAULT_FASHION_MNIST_DIR, `${base}.gz`), join(data, `${base}.gz`));
    }
    const cut = join(data, 'train-labels-idx1-ubyte.gz');
    writeFileSync(cut, readFileSync(join(DEFAULT_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz')).subarray(0, 2000));
    const spec = writeSpec('fail-data', ['model: { name: mlp, config: { hidden: [8] } }']);
    const runId = `fail-data-${process.pid}`;
    const out = await retainCli(['run', spec, '--id', runId, '--verbose'], { RETAIN_HOME: home, RETAIN_FASHION_MNIST_DIR: data });
    await expectFailedRun(
      out,
      runId,
      home,
      new RegExp(
        `^retain: run ${runId} failed in startRun: benchmark permuted-fmnist: ${cut} is not a complete gzip file \\(unexpected end of file\\)`,
      ),
    );
    expect(await attempts(runId)).toEqual([['startRun', 1]]);
    // --verbose: the SDK's log, stack traces and all, in the run's folder, not on the terminal.
    const log = join(home, 'runs', runId, 'worker.log');
    expect(out.stderr).toContain(`worker log: ${log}\n`);
    expect(readFileSync(log, 'utf8')).toMatch(/\[WARN\] Activity failed[\s\S]*IdxFormatError[\s\S]*\n\s+at /);
  });

  it('a full disk (a 1 MiB tmpfs under the artifact store): exit 3 on the first attempt, naming the path', async () => {
    // Mounting needs root; CI runs as root. Anywhere else this fails rather than skip unseen.
    if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs to fill a disk: run it as root (CI does)');
    const diskHome = join(dir, 'disk-home');
    const artifacts = join(diskHome, 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    mkdirSync(join(home, 'cache'), { recursive: true });
    symlinkSync(join(home, 'cache'), join(diskHome, 'cache'), 'dir');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', artifacts]);
    try {
      // The untrained model alone (784 x 512 floats, 1.6 MB) does not fit.
      const spec = writeSpec('fail-disk', ['model: { name: mlp, config: { hidden: [512] } }']);
      const runId = `fail-disk-${process.pid}`;
      const out = await retainCli(['run', spec, '--id', runId], { RETAIN_HOME: diskHome });
      await expectFailedRun(
        out,
        runId,
        diskHome,
        new RegExp(
          `^retain: run ${runId} failed in startRun: no space left on the device of ${artifacts}/sha256/\\S+ \\(ENOSPC\\); free space there`,
        ),
      );
      expect(await attempts(runId)).toEqual([['startRun', 1]]);
    } finally {
      execFileSync('umount', [artifacts]);
    }
  });

  it('an unreachable server: exit 4 within seconds, naming the address and the setting', async () => {
    const port = await closedPort();
    const spec = writeSpec('fail-server', ['model: { name: mlp, config: { hidden: [8] } }']);
    const out = await retainCli(['run', spec], { RETAIN_HOME: home, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect({ code: out.code, last: lastLineOf(out.stderr) }).toEqual({
      code: 4,
      last: `retain: cannot reach the Temporal server at 127.0.0.1:${port} (connection refused): check TEMPORAL_ADDRESS, or unset it to use the embedded dev server`,
    });
    expect(`${out.stdout}${out.stderr}`).not.toMatch(/^\s+at /m);
    expect(processesNaming(home)).toEqual([]);
  });

  it('a run no worker serves: status, result and cancel say so at once and name the worker to start, instead of hanging', async () => {
    const queue = `nobody-${process.pid}`;
    const spec = writeSpec('no-worker', ['model: { name: mlp, config: { hidden: [8] } }']);
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(/taskQueue: \S+ \}/, `taskQueue: ${queue} }`));
    const runId = `no-worker-${process.pid}`;
    const env = { RETAIN_HOME: home };
    expect((await retainCli(['run', spec, '--id', runId, '--detach'], env)).code).toBe(0);
    const start = `start \`npx retain worker --queue ${queue}\``;
    try {
      const status = await retainCli(['status', runId], env);
      expect({ code: status.code, stdout: status.stdout }).toEqual({
        code: 0,
        stdout: `${runId}: running · waiting for a worker: no worker polls task queue '${queue}': ${start}\n`,
      });
      // result keeps waiting, and says once why.
      const result = startRetain(['result', runId], env, /waits for a worker/);
      expect(await result.ready).toContain(`run ${runId} waits for a worker: no worker polls task queue '${queue}': ${start}`);
      result.child.kill('SIGTERM');
      await result.exited;
      const cancel = await retainCli(['cancel', runId], env);
      expect({ code: cancel.code, last: lastLineOf(cancel.stderr) }).toEqual({
        code: 0,
        last: `run ${runId}: cancel requested; it stops when a worker picks it up (no worker polls task queue '${queue}': ${start})`,
      });
    } finally {
      await client.workflow.getHandle(runId).terminate('test cleanup: no worker will ever serve it');
    }
  });
});

function lastLineOf(text: string): string {
  return text.trimEnd().split('\n').pop() ?? '';
}

/** Command lines of running processes that name `path` (a leftover worker or server of that state folder). */
function processesNaming(path: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(path) && !line.startsWith('ps '));
}

/** A port nothing listens on: one the OS just handed out and got back. */
function closedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
