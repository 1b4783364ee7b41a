import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { experimentWorkflow } from '@retain/workflows';
import { retainCli as retain, startRetain, type Running } from './cli-process';

/**
 * Issue 13, queues by kind of work: a spec sends trainTask to one task queue and startRun,
 * finishTask, finishRun to another; separate `retain worker` processes serve them, `retain run`
 * alone serves all of them, `retain workers` lists who polls what, and `--slots 2` runs two
 * activities at once. Everything through the built CLI on the test Temporal server.
 */
const SDK = resolve(__dirname, '../../packages/sdk');

// A test-only method: naive, but training waits while a file exists, so a test can hold two runs
// in training and look at them there instead of racing a few seconds of compute.
const HOLD_PLUGIN = `'use strict';
const { existsSync } = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');
const { definePlugin, z } = require(${JSON.stringify(SDK)});

const holdTraining = definePlugin({
  kind: 'method',
  name: 'hold-training',
  version: '0.0.1',
  description: 'Test only: naive, but training waits while the file whileFileExists exists.',
  configSchema: z.strictObject({ whileFileExists: z.string() }),
  training: async ({ config }) => {
    while (existsSync(config.whileFileExists)) await sleep(50);
    return {};
  },
});

module.exports = { plugins: [holdTraining] };
`;

/** Two tiny permuted tasks: seconds per run. */
const TINY = [
  'seed: 11',
  'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 600, testPerTask: 200 } }',
  'model: { name: mlp, config: { hidden: [16] } }',
  'trainer: { name: supervised, config: { batchSize: 64 } }',
  'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
];

/** What must not depend on where a run's activities ran. */
function numbersOf(results: Record<string, unknown>) {
  const { initial, matrices, quantizationGap, quantization, models, training } = results as {
    training: Array<{ steps: number; finalLoss: number }>;
  } & Record<string, unknown>;
  return {
    initial,
    matrices,
    quantizationGap,
    quantization,
    models,
    training: training.map(({ steps, finalLoss }) => ({ steps, finalLoss })),
  };
}

describe('task queues by kind of work (built CLI, separate worker processes)', () => {
  const id = process.pid;
  const queues = { workflow: `q-wf-${id}`, train: `q-train-${id}`, finish: `q-finish-${id}` };
  let dir: string;
  let env: Record<string, string>;
  let plugin: string;
  let client: Client;
  let connection: Connection;
  let trainWorker: Running;
  let finishWorker: Running;
  /** Each worker's identity, from its start line (`... as <identity>; Ctrl-C to stop`). */
  const identity = { train: '', finish: '' };

  const writeSpec = (name: string, lines: string[]) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, [`name: ${name}`, ...lines, ''].join('\n'));
    return path;
  };
  const results = (out: string) => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown>;

  /** Per activity of the run's history: its type, the queue it was scheduled on, the identity of the worker that started it. */
  async function activitiesOf(runId: string) {
    const { events } = await client.workflow.getHandle(runId).fetchHistory();
    const scheduled = new Map<string, { type: string; queue: string }>();
    const started: Array<{ type: string; queue: string; identity: string }> = [];
    for (const event of events ?? []) {
      const s = event.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(event.eventId), { type: s.activityType?.name ?? '', queue: s.taskQueue?.name ?? '' });
      const st = event.activityTaskStartedEventAttributes;
      if (st) started.push({ ...scheduled.get(String(st.scheduledEventId))!, identity: st.identity ?? '' });
    }
    return started;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-queues-'));
    env = { RETAIN_HOME: join(dir, 'state') };
    plugin = join(dir, 'hold-plugin');
    mkdirSync(plugin);
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: 'hold-plugin', version: '0.0.1', main: 'index.js' }));
    writeFileSync(join(plugin, 'index.js'), HOLD_PLUGIN);
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    // The CPU side polls the workflow's queue and the finish queue in one process; the GPU side trains, two at once.
    finishWorker = startRetain(['worker', '--queue', `${queues.workflow},${queues.finish}`, '--plugins', plugin], env, /Ctrl-C to stop/);
    trainWorker = startRetain(['worker', '--queue', queues.train, '--slots', '2', '--plugins', plugin], env, /Ctrl-C to stop/);
    const started = await Promise.all([finishWorker.ready, trainWorker.ready]);
    [identity.finish, identity.train] = started.map((stderr) => / as (retain@.*); Ctrl-C to stop/.exec(stderr)![1]);
  });

  afterAll(async () => {
    for (const worker of [trainWorker, finishWorker]) worker?.child.kill('SIGINT');
    const codes = await Promise.all([trainWorker, finishWorker].map((w) => w?.exited));
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
    // One Ctrl-C stops every queue's worker of a process, which then exits cleanly.
    expect(codes).toEqual([0, 0]);
  });

  it('trains on the train queue and finishes on the finish queue, with the numbers of a one-queue run', async () => {
    expect(identity.train).toMatch(new RegExp(`^retain@\\S+/${trainWorker.child.pid} device=cpu build=\\S+$`));
    expect(identity.finish).toMatch(new RegExp(`^retain@\\S+/${finishWorker.child.pid} device=cpu build=\\S+$`));

    // Today's way: one queue, served by `retain run`'s own worker.
    const single = join(dir, 'single');
    const one = await retain(
      ['run', writeSpec('queues-single', [...TINY, `execution: { taskQueue: q-single-${id} }`]), '--out', single],
      env,
    );
    expect({ code: one.code, stderr: one.code === 0 ? '' : one.stderr }).toEqual({ code: 0, stderr: '' });

    // Split across the two worker processes: started detached, so only they can run it.
    const split = writeSpec('queues-split', [
      ...TINY,
      `execution: { taskQueue: ${queues.workflow}, queues: { train: ${queues.train}, finish: ${queues.finish} } }`,
    ]);
    const detached = await retain(['run', split, '--detach'], env);
    expect(detached.code).toBe(0);
    const runId = detached.stdout.trim();
    const out = join(dir, 'split');
    const waited = await retain(['result', runId, '--out', out], env);
    expect({ code: waited.code, stderr: waited.code === 0 ? '' : waited.stderr }).toEqual({ code: 0, stderr: '' });

    const ran = await activitiesOf(runId);
    expect(ran.map((a) => a.type)).toEqual(['startRun', 'trainTask', 'finishTask', 'trainTask', 'finishTask', 'finishRun']);
    for (const activity of ran) {
      const side = activity.type === 'trainTask' ? 'train' : 'finish';
      expect(activity).toEqual({ type: activity.type, queue: queues[side], identity: identity[side] });
    }
    expect(results(out).spec).toMatchObject({ execution: { queues: { train: queues.train, finish: queues.finish } } });
    expect(numbersOf(results(out))).toEqual(numbersOf(results(single)));

    // `retain run` alone polls every queue its spec names (else this run would wait forever).
    const own = { workflow: `q-own-wf-${id}`, train: `q-own-train-${id}`, finish: `q-own-finish-${id}` };
    const ownOut = join(dir, 'own');
    const alone = await retain(
      [
        'run',
        writeSpec('queues-own', [
          ...TINY,
          `execution: { taskQueue: ${own.workflow}, queues: { train: ${own.train}, finish: ${own.finish} } }`,
        ]),
        '--out',
        ownOut,
      ],
      env,
    );
    expect({ code: alone.code, stderr: alone.code === 0 ? '' : alone.stderr }).toEqual({ code: 0, stderr: '' });
    const ownRan = await activitiesOf(results(ownOut).runId as string);
    expect(ownRan.map((a) => a.queue)).toEqual([own.finish, own.train, own.finish, own.train, own.finish, own.finish]);
    expect(new Set(ownRan.map((a) => a.identity)).size).toBe(1);
    expect(numbersOf(results(ownOut))).toEqual(numbersOf(results(single)));
  });

  it("`retain workers` lists each queue's workers with device and build, and names a queue nobody polls", async () => {
    const nobody = `q-nobody-${id}`;
    const { code, stdout } = await retain(
      ['workers', '--queue', queues.train, '--queue', `${queues.workflow},${queues.finish},${nobody}`],
      env,
    );
    expect(code).toBe(0);
    const rows = stdout.split('\n');
    const build = / build=(\S+)$/.exec(identity.train)![1];
    for (const [queue, who] of [
      [queues.train, identity.train],
      [queues.workflow, identity.finish],
      [queues.finish, identity.finish],
    ]) {
      for (const tasks of ['workflow', 'activity']) {
        const row = rows.find((r) => r.startsWith(`${queue} `) && r.includes(` ${tasks} `));
        expect(row).toMatch(
          new RegExp(
            `^${queue}\\s+${tasks}\\s+cpu\\s+${build}\\s+\\S+Z \\(\\d+ s ago\\)\\s+${who.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
          ),
        );
      }
    }
    expect(stdout).toContain(`no worker polls '${nobody}': start \`npx retain worker --queue ${nobody}\``);
  });

  it('--slots 2 runs two training tasks at once on one worker', async () => {
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    const spec = writeSpec('queues-slots', [
      ...TINY.map((line) => line.replace('tasks: 2', 'tasks: 1')),
      `method: { name: hold-training, config: { whileFileExists: ${hold} } }`,
      `execution: { taskQueue: ${queues.workflow}, queues: { train: ${queues.train}, finish: ${queues.finish} } }`,
    ]);
    const runIds: string[] = [];
    for (const _ of [0, 1]) {
      const started = await retain(['run', spec, '--detach', '--plugins', plugin], env);
      expect(started.code).toBe(0);
      runIds.push(started.stdout.trim());
    }
    // Both runs held inside trainTask on the train worker: with one slot the second would stay
    // scheduled until the first ended, which the hold file prevents, and this wait would time out.
    const training = async () => {
      const pending = await Promise.all(
        runIds.map(async (runId) => (await client.workflow.getHandle(runId).describe()).raw.pendingActivities ?? []),
      );
      // PendingActivityState 2 is STARTED: a worker holds the activity now.
      return pending.flatMap((p) =>
        p.filter((a) => a.activityType?.name === 'trainTask' && a.state === 2).map((a) => a.lastWorkerIdentity),
      );
    };
    try {
      let holding = await training();
      for (const deadline = Date.now() + 60_000; holding.length < 2 && Date.now() < deadline; holding = await training()) await sleep(100);
      expect(holding).toEqual([identity.train, identity.train]);
    } finally {
      // Released even when the check fails: a held activity would keep its worker from stopping.
      rmSync(hold, { force: true });
    }
    const outcomes = await Promise.all(runIds.map((runId) => client.workflow.getHandle<typeof experimentWorkflow>(runId).result()));
    expect(outcomes.map((o) => o.tasks)).toEqual([1, 1]);
  });
});
