import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, Client, defaultPayloadConverter } from '@temporalio/client';
import type { ExperimentResult, TrainHeartbeat } from '@retain/sdk';
import { retainCli } from './cli-process';
import { startTestCluster, type TestCluster } from './cluster/cluster';

/**
 * Retain across machines: separate hosts are network namespaces (cluster/network.ts); one runs the
 * Temporal server, one the S3 object store (SeaweedFS), two run workers, one the client. Workers
 * share nothing but the Temporal server and the bucket: each has its own RETAIN_HOME.
 *
 * 4 tasks of 6000 steps of batch 32 (about 4 s each here) and a checkpoint every 500 steps, so the
 * test sees task 1's first checkpoints and kills its worker's host with most of the task to go.
 */
const SPEC = [
  'name: cluster',
  'seed: 3',
  'benchmark: { name: permuted-fmnist, config: { tasks: 4, trainPerTask: 2000, testPerTask: 500 } }',
  'model: { name: mlp, config: { hidden: [64] } }',
  'trainer: { name: supervised, config: { steps: 6000, batchSize: 32, lr: 0.01, checkpointEvery: 500 } }',
  'quantizers: [{ name: rtn, config: { bits: 4 } }]',
  // The shortest allowed: a dead host's training runs again on the other about 3 s later.
  'execution: { taskQueue: cluster, heartbeatTimeoutSeconds: 3 }',
];

const results = (path: string) => JSON.parse(readFileSync(join(path, 'results.json'), 'utf8')) as ExperimentResult;

describe('a run across hosts (network namespaces): Temporal, S3, two workers, a client', () => {
  let cluster: TestCluster;
  let specPath: string;

  beforeAll(async () => {
    cluster = await startTestCluster(['w1', 'w2', 'gpu', 'cpu', 'client']);
    specPath = join(cluster.dir, 'cluster.yaml');
    writeFileSync(specPath, `${SPEC.join('\n')}\n`);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  test('killing the host that trains mid-task: the run finishes on the other host, bit for bit the single-machine run', async () => {
    const { net, dir } = cluster;
    // The same spec on one machine: this test run's own server, an in-process worker, a local folder.
    const single = retainCli(['run', specPath, '--out', join(dir, 'single')], { RETAIN_HOME: join(dir, 'single-home') });

    const workers = {
      w1: await cluster.startWorker('w1', ['--queue', 'cluster']),
      w2: await cluster.startWorker('w2', ['--queue', 'cluster']),
    };
    const started = await cluster.retainOn('client', ['run', specPath, '--detach']);
    expect(started).toMatchObject({ code: 0 });
    const runId = started.stdout.trim();

    // Watch from outside, as an operator would: which worker trains task 1, once it has checkpoints.
    const connection = await Connection.connect({ address: cluster.temporalAddress });
    try {
      const handle = new Client({ connection }).workflow.getHandle(runId);
      let trainer: string | undefined;
      let seen = '';
      await waitUntil(
        async () => {
          const description = await handle.describe();
          const pending = description.raw.pendingActivities ?? [];
          seen = `${description.status.name}: ${pending.map((a) => `${a.activityType?.name} attempt ${a.attempt}`).join('; ')}`;
          for (const a of pending) {
            if (a.activityType?.name !== 'trainTask') continue;
            const payload = a.heartbeatDetails?.payloads?.[0];
            const beat = payload ? defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload) : undefined;
            if (beat?.taskIndex === 1 && (beat.checkpoint?.step ?? 0) >= 500) trainer = a.lastWorkerIdentity ?? undefined;
          }
          return trainer !== undefined;
        },
        120_000,
        () => `no worker reached a checkpoint of task 1 (run ${seen}); output: ${JSON.stringify(cluster.output)}`,
      );
      // A worker's identity starts with its pid; the pid says which host it runs on.
      const pid = Number(/^(\d+)@/.exec(trainer!)?.[1] ?? /\/(\d+)\b/.exec(trainer!)?.[1]);
      const victim = (['w1', 'w2'] as const).find((h) => net.pids(h).includes(pid));
      expect(victim).toBeDefined();
      net.kill(victim!);
      const survivor = victim === 'w1' ? 'w2' : 'w1';

      const result = await cluster.retainOn('client', ['result', runId, '--out', join(dir, 'cluster-out')]);
      expect(result).toMatchObject({ code: 0 });
      expect(await single).toMatchObject({ code: 0 });
      const [onCluster, onOneMachine] = [results(join(dir, 'cluster-out')), results(join(dir, 'single'))];
      expect(onCluster.matrices).toEqual(onOneMachine.matrices);
      expect(onCluster.initial).toEqual(onOneMachine.initial);
      expect(onCluster.models).toEqual(onOneMachine.models);
      // Task 1 resumed on the other host from a checkpoint the dead one wrote to the bucket.
      expect(onCluster.training[1].resumedAt).toBeGreaterThanOrEqual(500);
      expect(net.pids(victim!)).toEqual([]);
      expect(workers[survivor].exitCode).toBeNull();
    } finally {
      await connection.close();
    }
  });

  test('training on one host, the rest on another (execution.queues): each host ran only its kind of work, the same numbers', async () => {
    const { dir } = cluster;
    const split = join(dir, 'split.yaml');
    // Short tasks: this case is about where work lands, not about surviving a crash.
    const lines = SPEC.map((l) =>
      l.startsWith('trainer:')
        ? 'trainer: { name: supervised, config: { steps: 300, batchSize: 32, lr: 0.01 } }'
        : l.startsWith('execution:')
          ? 'execution: { taskQueue: split, queues: { train: split-train, finish: split-finish } }'
          : l.replace('name: cluster', 'name: cluster-split'),
    );
    writeFileSync(split, `${lines.join('\n')}\n`);
    const single = retainCli(['run', split, '--out', join(dir, 'split-single')], { RETAIN_HOME: join(dir, 'split-single-home') });
    await cluster.startWorker('gpu', ['--queue', 'split-train']);
    await cluster.startWorker('cpu', ['--queue', 'split,split-finish']);
    const started = await cluster.retainOn('client', ['run', split, '--detach']);
    expect(started).toMatchObject({ code: 0 });
    const runId = started.stdout.trim();
    expect(await cluster.retainOn('client', ['result', runId, '--out', join(dir, 'split-out')])).toMatchObject({ code: 0 });

    // Who ran what, from the run's history: the identity that started each activity names its pid.
    const connection = await Connection.connect({ address: cluster.temporalAddress });
    try {
      const events = (await new Client({ connection }).workflow.getHandle(runId).fetchHistory()).events ?? [];
      const typeOf = new Map(events.map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]));
      const hostOf = (identity: string) => {
        const pid = Number(/\/(\d+)\b/.exec(identity)?.[1] ?? /^(\d+)@/.exec(identity)?.[1]);
        return ['gpu', 'cpu'].find((h) => cluster.net.pids(h).includes(pid));
      };
      const ran: Record<string, Set<string>> = {};
      for (const e of events) {
        const a = e.activityTaskStartedEventAttributes;
        if (a) (ran[typeOf.get(String(a.scheduledEventId)) ?? '?'] ??= new Set()).add(hostOf(a.identity ?? '') ?? '?');
      }
      expect(ran).toEqual({
        startRun: new Set(['cpu']),
        trainTask: new Set(['gpu']),
        finishTask: new Set(['cpu']),
        finishRun: new Set(['cpu']),
      });
    } finally {
      await connection.close();
    }
    expect(await single).toMatchObject({ code: 0 });
    const [onCluster, onOneMachine] = [results(join(dir, 'split-out')), results(join(dir, 'split-single'))];
    expect(onCluster.matrices).toEqual(onOneMachine.matrices);
    expect(onCluster.models).toEqual(onOneMachine.models);
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, explain: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
