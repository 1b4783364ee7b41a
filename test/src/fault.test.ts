import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, Client, Connection, defaultPayloadConverter, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { startDevServer } from '@retain/infra';
import { PluginRegistry } from '@retain/sdk';
import { builtinPlugins } from '@retain/worker';
import { buggyMethod } from './fault/buggy-method';
import type { ExperimentResult, ExperimentSpec, TrainHeartbeat } from '@retain/sdk';
import { experimentWorkflow, RUN_SEARCH_ATTRIBUTES, runSearchAttributes } from '@retain/workflows';
import { createHarness, smallPermutedSpec, type Harness } from './harness';
import {
  kill9,
  retainCli,
  startTestWorker,
  startWorker,
  trainingCheckpointed,
  waitForActivity,
  waitForPhase,
  type WorkerProcess,
} from './fault/processes';

/**
 * Fault tests: real `retain worker` processes killed with SIGKILL in the middle of a run, on the
 * shared real dev server. The run must finish on a new worker with matrices equal, bit for bit,
 * to an uninterrupted run of the same spec (run here by an in-process harness worker).
 */

/**
 * 2 tasks, 3000 steps of batch 32 each (seconds of training: heartbeats go out every 2 s, so a
 * test sees a checkpoint only in a task that lasts several seconds), a checkpoint every 250 steps.
 */
function faultSpec(): ExperimentSpec {
  return smallPermutedSpec({
    name: 'fault',
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 2000, testPerTask: 500 } },
    model: { name: 'mlp', config: { hidden: [64] } },
    trainer: { name: 'supervised', config: { steps: 3000, batchSize: 32, lr: 0.01, checkpointEvery: 250 } },
  });
}

describe('durability under real worker crashes', () => {
  let harness: Harness;
  let client: Client;
  let connection: Connection;
  let home: string;
  let baseline: ExperimentResult;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    harness = await createHarness('fault-baseline');
    baseline = await harness.run(faultSpec());
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    home = mkdtempSync(join(tmpdir(), 'retain-fault-'));
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await harness?.close();
    await connection?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const worker = (queue: string) => {
    const w = startWorker(queue, home);
    workers.push(w);
    return w;
  };

  const start = (queue: string, runId: string) => {
    const spec = { ...faultSpec(), execution: { taskQueue: queue } };
    return client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: runId,
      args: [{ spec }],
      typedSearchAttributes: runSearchAttributes(spec),
    });
  };

  it('kill -9 during training: a new worker resumes the task from its last checkpoint, with the same matrices', async () => {
    const queue = `fault-train-${process.pid}`;
    const first = worker(queue);
    await first.ready;
    const handle = await start(queue, `${queue}-run`);
    // Kill once task 1's heartbeat holds a checkpoint at step 500 or later (of 3000).
    const seen = await waitForActivity(handle, trainingCheckpointed(1, 500), 'a checkpoint of task 1 at step >= 500');
    const checkpointed = (seen.details as TrainHeartbeat).checkpoint!.step;
    await kill9(first);
    const second = worker(queue);
    const result = await handle.result();
    second.child.kill('SIGINT');
    // The retried attempt started at the last heartbeat's checkpoint (or a later one the killed
    // worker saved just before dying), not at step 0.
    expect(result.training[1].resumedAt).toBeGreaterThanOrEqual(checkpointed);
    expect(result.training[0].resumedAt).toBeUndefined();
    expect(result.matrices).toEqual(baseline.matrices);
    expect(result.initial).toEqual(baseline.initial);
    expect(result.models.map((m) => m.checkpointRef)).toEqual(baseline.models.map((m) => m.checkpointRef));
  });

  it('kill -9 at several points of one run (training, quantize, evaluate): same matrices', async () => {
    const queue = `fault-many-${process.pid}`;
    let current = worker(queue);
    await current.ready;
    const handle = await start(queue, `${queue}-run`);
    const killAt: Array<() => Promise<unknown>> = [
      () => waitForActivity(handle, trainingCheckpointed(0, 500), 'a checkpoint of task 0 at step >= 500'),
      () => waitForPhase(handle, 0, 'quantizing'),
      () => waitForPhase(handle, 1, 'evaluating'),
    ];
    for (const reached of killAt) {
      await reached();
      await kill9(current);
      current = worker(queue);
    }
    const result = await handle.result();
    current.child.kill('SIGINT');
    expect(result.training[0].resumedAt).toBeGreaterThanOrEqual(500);
    expect(result.matrices).toEqual(baseline.matrices);
    expect(result.models.map((m) => m.checkpointRef)).toEqual(baseline.models.map((m) => m.checkpointRef));
  });
  it('two workers on one queue: killing the one that trains leaves the other to finish the run', async () => {
    const queue = `fault-pair-${process.pid}`;
    const pair = [worker(queue), worker(queue)];
    await Promise.all(pair.map((w) => w.ready));
    const handle = await start(queue, `${queue}-run`);
    await waitForActivity(handle, trainingCheckpointed(0, 500), 'a checkpoint of task 0 at step >= 500');
    // The worker identity Temporal records is '<pid>@<host>': kill the one that holds the training.
    const description = await handle.describe();
    const identity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainTask')?.lastWorkerIdentity ?? '';
    const training = pair.find((w) => identity.startsWith(`${w.child.pid}@`));
    expect(training).toBeDefined();
    await kill9(training!);
    const result = await handle.result();
    expect(result.training[0].resumedAt).toBeGreaterThanOrEqual(500);
    expect(result.matrices).toEqual(baseline.matrices);
  });

  it('stopping the Temporal server mid-run and starting it again on the same SQLite file: the run completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'retain-fault-server-'));
    const options = {
      cliPath: process.env.RETAIN_TEMPORAL_CLI,
      stateDir: dir,
      dbFile: join(dir, 'temporal.sqlite'),
      searchAttributes: { ...RUN_SEARCH_ATTRIBUTES },
    };
    let server = await startDevServer({ ...options, port: 0 });
    const port = Number(server.address.split(':').pop());
    const queue = `fault-server-${process.pid}`;
    const w = startTestWorker(queue, join(dir, 'artifacts'), server.address);
    workers.push(w);
    try {
      await w.ready;
      let conn = await Connection.connect({ address: server.address });
      const spec = { ...faultSpec(), execution: { taskQueue: queue } };
      const handle = await new Client({ connection: conn }).workflow.start(experimentWorkflow, {
        taskQueue: queue,
        workflowId: `${queue}-run`,
        args: [{ spec }],
      });
      await waitForActivity(handle, trainingCheckpointed(0, 500), 'a checkpoint of task 0 at step >= 500');
      await conn.close();
      await server.stop();
      server = await startDevServer({ ...options, port });
      conn = await Connection.connect({ address: server.address });
      const result = await new Client({ connection: conn }).workflow.getHandle<typeof experimentWorkflow>(`${queue}-run`).result();
      await conn.close();
      expect(result.matrices).toEqual(baseline.matrices);
    } finally {
      w.child.kill('SIGKILL');
      await w.exited;
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a plugin bug fails the run at once, naming plugin and task; `retain resume` with a fixed spec finishes it without retraining', async () => {
    const queue = `fault-plugin-${process.pid}`;
    const w = startTestWorker(queue, join(home, 'artifacts'));
    workers.push(w);
    await w.ready;
    const registry = new PluginRegistry([...builtinPlugins, buggyMethod]);
    const buggy = registry.validateSpec({
      ...faultSpec(),
      method: { name: 'buggy', config: { failAtTask: 1 } },
      execution: { taskQueue: queue },
    });
    const runId = `${queue}-run`;
    const handle = await client.workflow.start(experimentWorkflow, { taskQueue: queue, workflowId: runId, args: [{ spec: buggy }] });
    const failure = await handle.result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ActivityFailure;
    expect(cause.cause).toBeInstanceOf(ApplicationFailure);
    const app = cause.cause as ApplicationFailure;
    expect(app.type).toBe('PluginError');
    expect(app.message).toMatch(/^method buggy \(task 1\): TypeError: .*fisher/);
    // Non-retryable: the first attempt's failure ended the run.
    expect(cause.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);

    const fixedPath = join(home, 'fixed.yaml');
    writeFileSync(fixedPath, JSON.stringify({ ...buggy, method: { name: 'naive', config: {} } }));
    const resumed = await retainCli(['resume', runId, '--spec', fixedPath, '--detach', '--id', `${runId}-resumed`], { RETAIN_HOME: home });
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(resumed.stdout.trim()).toBe(`${runId}-resumed`);
    const newHandle = client.workflow.getHandle<typeof experimentWorkflow>(`${runId}-resumed`);
    const result = await newHandle.result();
    expect(result.resumedFrom).toEqual({ runId, task: 1 });
    // Task 0 came from the failed run (same artifacts, same numbers); only task 1 was trained here.
    expect(result.models[0].checkpointRef).toBe(baseline.models[0].checkpointRef);
    expect(result.matrices).toEqual(baseline.matrices);
    const trained: number[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${runId}-resumed'` })) {
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const scheduled = e.activityTaskScheduledEventAttributes;
        if (scheduled?.activityType?.name !== 'trainTask') continue;
        trained.push((defaultPayloadConverter.fromPayload(scheduled.input!.payloads![0]) as { taskIndex: number }).taskIndex);
      }
    }
    expect(trained).toEqual([1]);
  });
});
