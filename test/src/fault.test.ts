import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, Client, Connection, defaultPayloadConverter, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { startDevServer } from '@retain/infra';
import { PluginRegistry } from '@retain/sdk';
import { experimentResultOf, parseWorkerIdentity } from '@retain/worker';
import { faultTestPlugins } from './fault/plugins';

/** The built `--plugins` file of the test-only plugins, for the CLI's `resume` (it validates the run's spec). */
const FAULT_PLUGINS = join(__dirname, '..', 'dist', 'fault', 'plugins.js');
import type { ExperimentOutcome, ExperimentResult, ExperimentSpec, FinishTaskHeartbeat, TrainHeartbeat } from '@retain/sdk';
import { experimentWorkflow, RUN_SEARCH_ATTRIBUTES, runSearchAttributes } from '@retain/workflows';
import { createHarness, smallPermutedSpec, type Harness } from './harness';
import {
  kill9,
  retainCli,
  startTestWorker,
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
 * 2 tasks of 1500 steps of batch 32 (a few seconds each), a checkpoint every 100 steps. The test
 * workers heartbeat every FAST_HEARTBEAT_MS, so a test sees task t's first checkpoint (step 100)
 * and kills its worker with most of the task's steps still to go.
 */
const FAST_HEARTBEAT_MS = 100;

function faultSpec(): ExperimentSpec {
  return smallPermutedSpec({
    name: 'fault',
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 2000, testPerTask: 500 } },
    model: { name: 'mlp', config: { hidden: [64] } },
    trainer: { name: 'supervised', config: { steps: 1500, batchSize: 32, lr: 0.01, checkpointEvery: 100 } },
    // The shortest allowed: a killed worker's activity runs again about 4 s later instead of 6.
    execution: { taskQueue: 'fault', heartbeatTimeoutSeconds: 3 },
  });
}

/** Test workers' plugins: the built-in ones and the test-only ones (see fault/plugins.ts). */
const testRegistry = new PluginRegistry(faultTestPlugins);

/**
 * faultSpec computing the same numbers slowly enough to be caught quantizing or evaluating:
 * the same RTN quantizers under the same ids (so the same matrices and artifacts), each after a
 * pause, and an evaluator that only waits.
 */
function slowFaultSpec(): ExperimentSpec {
  const spec = faultSpec();
  return testRegistry.validateSpec({
    ...spec,
    quantizers: spec.quantizers.map((q) => ({ id: q.id, name: 'slow-rtn', config: { ...q.config, delayMs: 800 } })),
    evaluators: [...spec.evaluators, { name: 'slow', config: { delayMs: 250 } }],
  });
}

/** The attempt that completed `type` for each task of a run (all its executions), by task index. */
async function completedAttempts(client: Client, runId: string, type: string): Promise<number[]> {
  const attempts: number[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${runId}'` })) {
    const events = (await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    for (const e of events) {
      const done = e.activityTaskCompletedEventAttributes;
      if (!done) continue;
      const scheduled = byId.get(String(done.scheduledEventId))?.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name !== type) continue;
      const { taskIndex } = defaultPayloadConverter.fromPayload(scheduled.input!.payloads![0]) as { taskIndex: number };
      attempts[taskIndex] = byId.get(String(done.startedEventId))?.activityTaskStartedEventAttributes?.attempt ?? 0;
    }
  }
  return attempts;
}

/** The checkpoint a run's cancelled trainTask handed back (the cancellation's details), as its history records it. */
async function cancelledTrainingCheckpoint(client: Client, runId: string): Promise<TrainHeartbeat['checkpoint']> {
  const events = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const details = events.find((e) => e.activityTaskCanceledEventAttributes)?.activityTaskCanceledEventAttributes?.details?.payloads?.[0];
  return details ? (defaultPayloadConverter.fromPayload(details) as TrainHeartbeat).checkpoint : undefined;
}

/** The tasks a run (all its continued-as-new executions) scheduled trainTask for, in order. */
async function trainedTasks(client: Client, runId: string): Promise<number[]> {
  const trained: number[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${runId}'` })) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const e of history.events ?? []) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name !== 'trainTask') continue;
      trained.push((defaultPayloadConverter.fromPayload(scheduled.input!.payloads![0]) as { taskIndex: number }).taskIndex);
    }
  }
  return trained.sort((a, b) => a - b);
}

describe('durability under real worker crashes', () => {
  let harness: Harness;
  let client: Client;
  let connection: Connection;
  let home: string;
  let baseline: ExperimentResult;
  /** One worker for the scenarios that kill nothing (plugin bug, cancel): started while the baseline runs. */
  let shared: WorkerProcess;
  const sharedQueue = `fault-shared-${process.pid}`;
  const workers: WorkerProcess[] = [];

  const worker = (queue: string) => {
    const w = startTestWorker(queue, join(home, 'artifacts'), { heartbeatMs: FAST_HEARTBEAT_MS });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'retain-fault-'));
    shared = worker(sharedQueue);
    // The uninterrupted reference run, shared by every scenario below.
    harness = await createHarness('fault-baseline');
    baseline = await harness.run(faultSpec());
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    await shared.ready;
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await harness?.close();
    await connection?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** The result a run stored in the test workers' artifact store (the workflow returns its ref). */
  const resultOf = async (handle: { result(): Promise<ExperimentOutcome> }, artifacts = join(home, 'artifacts')) =>
    experimentResultOf(await handle.result(), artifacts);

  const start = (queue: string, runId: string, spec: ExperimentSpec = faultSpec()) => {
    const withQueue = { ...spec, execution: { ...spec.execution, taskQueue: queue } };
    return client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: runId,
      args: [{ spec: withQueue }],
      typedSearchAttributes: runSearchAttributes(withQueue),
    });
  };

  /** faultSpec with a test method (fault/plugins.ts), started on the shared worker's queue. */
  const startWithMethod = (runId: string, method: ExperimentSpec['method']) =>
    start(sharedQueue, runId, testRegistry.validateSpec({ ...faultSpec(), method }));

  /**
   * `retain resume` of a run that stopped in task 1's finishTask, with its spec: the new run finishes
   * task 1 from the stopped run's completed training, trains nothing, and computes the
   * uninterrupted run's numbers.
   */
  const expectResumedWithoutTraining = async (runId: string) => {
    const resumed = await retainCli(['resume', runId, '--detach', '--id', `${runId}-resumed`, '--plugins', FAULT_PLUGINS], {
      RETAIN_HOME: home,
    });
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    const result = await resultOf(client.workflow.getHandle<typeof experimentWorkflow>(`${runId}-resumed`));
    expect(result.resumedFrom).toEqual({ runId, task: 1 });
    expect(await trainedTasks(client, `${runId}-resumed`)).toEqual([]);
    expect(result.models.map((m) => m.checkpointRef)).toEqual(baseline.models.map((m) => m.checkpointRef));
    expect(result.matrices).toEqual(baseline.matrices);
  };

  it('kill -9 while quantizing, training and evaluating one run: each step resumes on a new worker (training from its last checkpoint), same matrices', async () => {
    const queue = `fault-many-${process.pid}`;
    let current = worker(queue);
    await current.ready;
    const handle = await start(queue, `${queue}-run`, slowFaultSpec());
    let checkpointed = 0;
    const killAt: Array<() => Promise<unknown>> = [
      () => waitForPhase(handle, 0, 'quantizing'),
      async () => {
        const seen = await waitForActivity(handle, trainingCheckpointed(1, 100), 'a checkpoint of task 1');
        checkpointed = (seen.details as TrainHeartbeat).checkpoint!.step;
      },
      () => waitForPhase(handle, 1, 'evaluating'),
    ];
    for (const reached of killAt) {
      await reached();
      await kill9(current);
      current = worker(queue);
    }
    const result = await resultOf(handle);
    current.child.kill('SIGINT');
    // The retried attempt started at the last heartbeat's checkpoint (or a later one the killed
    // worker saved just before dying), not at step 0; task 0 was never interrupted in training.
    expect(checkpointed).toBeGreaterThanOrEqual(100);
    expect(result.training[1].resumedAt).toBeGreaterThanOrEqual(checkpointed);
    expect(result.training[0].resumedAt).toBeUndefined();
    expect(result.matrices).toEqual(baseline.matrices);
    expect(result.initial).toEqual(baseline.initial);
    expect(result.models).toEqual(baseline.models);
    // The quantize and evaluate kills hit finishTask: each task's finished on a second attempt.
    expect(await completedAttempts(client, `${queue}-run`, 'finishTask')).toEqual([2, 2]);
  });

  it('two workers on one queue: killing the one that trains leaves the other to finish the run', async () => {
    const queue = `fault-pair-${process.pid}`;
    const pair = [worker(queue), worker(queue)];
    await Promise.all(pair.map((w) => w.ready));
    const handle = await start(queue, `${queue}-run`);
    const seen = await waitForActivity(handle, trainingCheckpointed(0, 100), 'a checkpoint of task 0');
    // The worker identity Temporal records is 'retain@<host>/<pid> device=... build=...': kill the one that holds the training.
    const description = await handle.describe();
    const identity = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainTask')?.lastWorkerIdentity ?? '';
    const training = pair.find((w) => parseWorkerIdentity(identity).worker.endsWith(`/${w.child.pid}`));
    expect(training).toBeDefined();
    await kill9(training!);
    const result = await resultOf(handle);
    expect(result.training[0].resumedAt).toBeGreaterThanOrEqual((seen.details as TrainHeartbeat).checkpoint!.step);
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
    const w = startTestWorker(queue, join(dir, 'artifacts'), { address: server.address, heartbeatMs: FAST_HEARTBEAT_MS });
    workers.push(w);
    try {
      await w.ready;
      let conn = await Connection.connect({ address: server.address });
      const spec = { ...faultSpec(), execution: { ...faultSpec().execution, taskQueue: queue } };
      const handle = await new Client({ connection: conn }).workflow.start(experimentWorkflow, {
        taskQueue: queue,
        workflowId: `${queue}-run`,
        args: [{ spec }],
      });
      await waitForActivity(handle, trainingCheckpointed(0, 100), 'a checkpoint of task 0');
      await conn.close();
      await server.stop();
      server = await startDevServer({ ...options, port });
      conn = await Connection.connect({ address: server.address });
      const result = await resultOf(
        new Client({ connection: conn }).workflow.getHandle<typeof experimentWorkflow>(`${queue}-run`),
        join(dir, 'artifacts'),
      );
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
    const runId = `${sharedQueue}-buggy`;
    const handle = await startWithMethod(runId, { name: 'buggy', config: { failAtTask: 1 } });
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
    writeFileSync(fixedPath, JSON.stringify({ ...faultSpec(), execution: { ...faultSpec().execution, taskQueue: sharedQueue } })); // naive
    const resumed = await retainCli(
      ['resume', runId, '--spec', fixedPath, '--detach', '--id', `${runId}-resumed`, '--plugins', FAULT_PLUGINS],
      {
        RETAIN_HOME: home,
      },
    );
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(resumed.stdout.trim()).toBe(`${runId}-resumed`);
    const result = await resultOf(client.workflow.getHandle<typeof experimentWorkflow>(`${runId}-resumed`));
    expect(result.resumedFrom).toEqual({ runId, task: 1 });
    // Task 0 came from the failed run (same artifacts, same numbers); only task 1 was trained here.
    expect(result.models[0].checkpointRef).toBe(baseline.models[0].checkpointRef);
    expect(result.matrices).toEqual(baseline.matrices);
    expect(await trainedTasks(client, `${runId}-resumed`)).toEqual([1]);
  });

  it('a plugin bug after task 1 trained, fixed in code: `retain resume` with the same spec finishes task 1 without training anything', async () => {
    const bugFile = join(home, 'method-bug-present');
    writeFileSync(bugFile, '');
    const runId = `${sharedQueue}-fixed-in-code`;
    const handle = await startWithMethod(runId, { name: 'buggy', config: { failAtTask: 1, whileFileExists: bugFile } });
    const failure = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(((failure.cause as ActivityFailure).cause as ApplicationFailure).message).toMatch(/^method buggy \(task 1\)/);
    expect(await trainedTasks(client, runId)).toEqual([0, 1]);

    rmSync(bugFile); // the fix
    await expectResumedWithoutTraining(runId);
  });

  it('a run cancelled mid-training, then `retain resume`: the new run continues the task from the checkpoint the cancel saved, same bytes', async () => {
    const runId = `${sharedQueue}-cancelled-training`;
    const handle = await start(sharedQueue, runId);
    await waitForActivity(handle, trainingCheckpointed(0, 100), 'a checkpoint of task 0');
    // What `retain cancel` does (cli-control.test.ts runs the command), without the seconds a
    // process start takes on a loaded machine, in which the task's training could end.
    await handle.cancel();
    expect(await handle.result().catch((e: unknown) => e)).toBeInstanceOf(WorkflowFailedError);
    const saved = await cancelledTrainingCheckpoint(client, runId);
    expect(saved?.step).toBeGreaterThanOrEqual(100);
    expect(saved!.step).toBeLessThan(1500);

    const resumed = await retainCli(['resume', runId, '--detach', '--id', `${runId}-resumed`, '--plugins', FAULT_PLUGINS], {
      RETAIN_HOME: home,
    });
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    const result = await resultOf(client.workflow.getHandle<typeof experimentWorkflow>(`${runId}-resumed`));
    expect(result.resumedFrom).toEqual({ runId, task: 0 });
    expect(result.training[0].resumedAt).toBe(saved!.step);
    expect(result.training[1].resumedAt).toBeUndefined();
    expect(result.models).toEqual(baseline.models);
    expect(result.matrices).toEqual(baseline.matrices);
  });

  it('`retain cancel` while task 1 finishes, then `retain resume`: the new run trains nothing again, same matrices', async () => {
    // The run is held in task 1's consolidation until the test removes this file, so the cancel
    // lands there however long the CLI takes (cancelling in training is cli-control.test.ts's).
    const hold = join(home, 'hold-task-1');
    writeFileSync(hold, '');
    const runId = `${sharedQueue}-cancelled`;
    const handle = await startWithMethod(runId, { name: 'holding', config: { holdAtTask: 1, whileFileExists: hold } });
    await waitForActivity(
      handle,
      (a) => a.type === 'finishTask' && (a.details as FinishTaskHeartbeat | undefined)?.taskIndex === 1,
      "task 1's finishTask",
    );
    const cancelled = await retainCli(['cancel', runId], { RETAIN_HOME: home });
    expect({ code: cancelled.code, stderr: cancelled.stderr }).toEqual({
      code: 0,
      stderr: expect.stringContaining(`run ${runId} cancelled`),
    });
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    rmSync(hold); // lets the abandoned finishTask attempt end, freeing the shared worker
    expect(await trainedTasks(client, runId)).toEqual([0, 1]);
    await expectResumedWithoutTraining(runId);
  });
});
