import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { resolveTemporalCli } from '@retain/infra';
import type {
  ExperimentOutcome,
  ExperimentSpec,
  ExperimentState,
  FinishedTask,
  StartRunOutput,
  FinishTaskInput,
  RetainActivities,
  RunProgress,
  TaskModels,
  TaskRecord,
  TrainTaskInput,
} from '@retain/sdk';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import {
  experimentWorkflow,
  methodKey,
  pauseSignal,
  quantizersKey,
  runSearchAttributes,
  specNameKey,
  statusKey,
  unpauseSignal,
} from './index';

const HISTORY_LIMIT = 200;

/**
 * The orchestration alone, on a real dev server: activities here are stand-ins that return known
 * numbers, so the test can check how the workflow chains refs, assembles matrices and continues
 * as new. Real activities are exercised end to end in test/.
 */

const R = [
  [0.9, 0.2, 0.1],
  [0.7, 0.8, 0.3],
  [0.6, 0.5, 0.85],
];
const INITIAL = [0.1, 0.12, 0.09];
const INT4_DROP = 0.05;

const spec = {
  name: 'orchestration',
  seed: 1,
  benchmark: { name: 'stand-in', config: {} },
  model: { name: 'stand-in', config: {} },
  trainer: { name: 'stand-in', config: {} },
  method: { name: 'naive', config: {} },
  quantizers: [{ id: 'int4', name: 'rtn', config: { bits: 4 } }],
  evaluators: [{ name: 'accuracy', config: {} }],
  execution: { taskQueue: 'orchestration' },
} satisfies ExperimentSpec;

/** What the stand-in finishRun assembles from the stand-in records: the matrices and models, by task. */
interface StandInResult {
  matrices: Record<string, Array<Array<number | null>>>;
  initial: number[];
  models: TaskModels[];
  records: TaskRecord[];
}

/**
 * Stand-ins of every activity. They keep their "artifacts" (records, initial row, result) in
 * `store`, and finishRun walks the record chain the workflow handed it, as the real one does.
 */
function standInActivities(trainCalls: TrainTaskInput[], finishCalls: FinishTaskInput[] = [], store = new Map<string, unknown>()) {
  const rowOf = (checkpointRef: string) => (checkpointRef === 'init' ? INITIAL : R[Number(checkpointRef.split('-')[1])]);
  const put = (key: string, value: unknown) => (store.set(key, value), key);
  const activities: RetainActivities = {
    startRun: async () => ({
      info: { taskNames: ['t0', 't1', 't2'], heads: 1, classesPerHead: 10 },
      checkpointRef: 'init',
      initialRef: put('initial', INITIAL),
    }),
    trainTask: async (input) => {
      trainCalls.push(input);
      return { checkpointRef: `ckpt-${input.taskIndex}`, steps: 10, samples: 640, seconds: 1, finalLoss: 0.5, samplesPerSec: 640 };
    },
    finishTask: async (input) => {
      finishCalls.push(input);
      const { taskIndex, trained, previous } = input;
      const { checkpointRef, methodStepStateRef: _, ...training } = trained;
      // The stand-in's crossing rate names the codes it compared, so the test sees the chaining.
      const previousCodesRef = previous?.models.quantized.int4.codesRef;
      const quantized = {
        manifestRef: `int4-${taskIndex}`,
        bytes: 100,
        codesRef: `codes-${taskIndex}`,
        ...(previousCodesRef ? { bucketCrossingRate: Number(previousCodesRef.split('-')[1]) / 10 } : {}),
      };
      const models = { checkpointRef, quantized: { int4: quantized }, methodStateRef: `state-${taskIndex}` };
      const rows = { fp32: rowOf(checkpointRef), int4: rowOf(checkpointRef).map((a) => a - INT4_DROP) };
      const record: TaskRecord = { taskIndex, rows, models, training, previousRef: previous?.recordRef };
      return { models, recordRef: put(`record-${taskIndex}`, record) };
    },
    finishRun: async ({ state }) => {
      const records: TaskRecord[] = [];
      for (let ref = state.last?.recordRef; ref; ref = records[0].previousRef) records.unshift(store.get(ref) as TaskRecord);
      const result: StandInResult = {
        matrices: { fp32: records.map((r) => r.rows.fp32), int4: records.map((r) => r.rows.int4) },
        initial: store.get(state.initialRef) as number[],
        models: records.map((r) => r.models),
        records,
      };
      return { runId: state.runId, resultRef: put('result', result), tasks: records.length, startedAt: state.startedAt, finishedAt: '' };
    },
  };
  return activities;
}

/** The stand-in result a run's outcome points to. */
function standInResult(output: ExperimentOutcome, store: Map<string, unknown>): StandInResult {
  return store.get(output.resultRef) as StandInResult;
}

describe('experimentWorkflow orchestration', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundle;

  /** Starts a run that resumes `runId` after its task 0 (`first`), with what it knows of task 1's training. */
  const startResumedAfterTask0 = (
    queue: string,
    resumedSpec: ExperimentSpec,
    started: StartRunOutput,
    first: FinishedTask,
    runId: string,
    next: Pick<ExperimentState, 'nextTaskTrained' | 'nextTaskResumeFrom'>,
  ) =>
    env.client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: queue,
      args: [
        {
          spec: resumedSpec,
          state: {
            runId: queue,
            spec: resumedSpec,
            info: started.info,
            nextTask: 1,
            initialCheckpointRef: started.checkpointRef,
            initialRef: started.initialRef,
            last: first,
            startedAt: '2026-01-01T00:00:00.000Z',
            resumedFrom: { runId, task: 1 },
            ...next,
          },
        },
      ],
    });

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const cli = await resolveTemporalCli({ install: true });
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli.path },
        searchAttributes: [specNameKey, methodKey, quantizersKey, statusKey],
        // History limits lowered 250-fold (Temporal's defaults: 51,200 events, warning at 10,240),
        // so a run that did not continue as new would be terminated within a few tasks here.
        extraArgs: [
          '--dynamic-config-value',
          `limit.historyCount.error=${HISTORY_LIMIT}`,
          '--dynamic-config-value',
          'limit.historyCount.warn=150',
        ],
      },
    });
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./index'), logger: new DefaultLogger('WARN') });
  }, 120_000); // starts a dev server and webpack-bundles the workflows
  afterAll(async () => {
    await env?.teardown();
  });

  it('chains checkpoints, method state, codes and task records task to task, across continue-as-new after every task', async () => {
    const trainCalls: TrainTaskInput[] = [];
    const finishCalls: FinishTaskInput[] = [];
    const store = new Map<string, unknown>();
    const everyTask = { ...spec, execution: { ...spec.execution, continueAsNewAfterEvents: 1 } };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: spec.execution.taskQueue,
      workflowBundle: bundle,
      activities: standInActivities(trainCalls, finishCalls, store),
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: spec.execution.taskQueue,
      workflowId: 'orchestration-1',
      args: [{ spec: everyTask }],
      typedSearchAttributes: runSearchAttributes(everyTask),
    });
    const outcome = await worker.runUntil(handle.result());
    const result = standInResult(outcome, store);

    expect(trainCalls.map((c) => [c.taskIndex, c.checkpointRef, c.methodStateRef])).toEqual([
      [0, 'init', undefined],
      [1, 'ckpt-0', 'state-0'],
      [2, 'ckpt-1', 'state-1'],
    ]);
    // finishTask gets what training returned and the previous task's models and record.
    expect(finishCalls.map((c) => [c.taskIndex, c.trained.checkpointRef, c.previous?.models.checkpointRef, c.previous?.recordRef])).toEqual(
      [
        [0, 'ckpt-0', undefined, undefined],
        [1, 'ckpt-1', 'ckpt-0', 'record-0'],
        [2, 'ckpt-2', 'ckpt-1', 'record-1'],
      ],
    );
    expect(result.records.map((r) => [r.taskIndex, r.previousRef])).toEqual([
      [0, undefined],
      [1, 'record-0'],
      [2, 'record-1'],
    ]);
    expect(result.matrices.fp32).toEqual(R);
    expect(result.matrices.int4).toEqual(R.map((row) => row.map((a) => a - INT4_DROP)));
    expect(result.initial).toEqual(INITIAL);
    expect(result.models.map((m) => m.quantized.int4.manifestRef)).toEqual(['int4-0', 'int4-1', 'int4-2']);
    // Each task's quantize got the previous task's codes: crossing rates name codes-0 and codes-1.
    expect(result.models.map((m) => m.quantized.int4.bucketCrossingRate)).toEqual([undefined, 0, 0.1]);
    expect(outcome).toMatchObject({ runId: 'orchestration-1', tasks: 3, resultRef: 'result' });

    // Three executions: the first, then one continue-as-new after each task but the last.
    const runs = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = 'orchestration-1'` })) runs.push(run);
    expect(runs).toHaveLength(3);
    expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW')).toHaveLength(2);
    // Continuing as new is not a failure: the status attribute says running until the end.
    expect(runs.map((r) => [r.status.name, r.typedSearchAttributes.get(statusKey)]).sort()).toEqual([
      ['COMPLETED', 'completed'],
      ['CONTINUED_AS_NEW', 'running'],
      ['CONTINUED_AS_NEW', 'running'],
    ]);
  });

  it('a resumed state with the next task already trained finishes that task from it, training only the rest', async () => {
    const trainCalls: TrainTaskInput[] = [];
    const finishCalls: FinishTaskInput[] = [];
    const store = new Map<string, unknown>();
    const queue = 'orchestration-resumed-trained';
    const resumedSpec = { ...spec, execution: { taskQueue: queue } };
    const activities = standInActivities(trainCalls, finishCalls, store);
    // What the failed run left: task 0 finished, task 1 trained (its finishTask failed).
    const started = await activities.startRun({ spec: resumedSpec });
    const first = await activities.finishTask({
      spec: resumedSpec,
      taskIndex: 0,
      trained: await activities.trainTask({ spec: resumedSpec, taskIndex: 0, checkpointRef: 'init' }),
    });
    const trainedBefore = await activities.trainTask({
      spec: resumedSpec,
      taskIndex: 1,
      checkpointRef: 'ckpt-0',
      methodStateRef: 'state-0',
    });
    trainCalls.length = 0;
    finishCalls.length = 0;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: bundle, activities });
    const handle = await startResumedAfterTask0(queue, resumedSpec, started, first, 'failed', { nextTaskTrained: trainedBefore });
    const result = standInResult(await worker.runUntil(handle.result()), store);
    expect(trainCalls.map((c) => c.taskIndex)).toEqual([2]);
    expect(finishCalls.map((c) => [c.taskIndex, c.trained.checkpointRef])).toEqual([
      [1, 'ckpt-1'],
      [2, 'ckpt-2'],
    ]);
    expect(result.matrices.fp32).toEqual(R);
  });

  it('a resumed state with the next task interrupted mid-training continues that task from its checkpoint, the rest from step 0', async () => {
    const trainCalls: TrainTaskInput[] = [];
    const store = new Map<string, unknown>();
    const queue = 'orchestration-resumed-mid-task';
    const resumedSpec = { ...spec, execution: { taskQueue: queue } };
    const activities = standInActivities(trainCalls, [], store);
    // What the cancelled run left: task 0 finished, task 1 cancelled at a checkpoint of step 40.
    const started = await activities.startRun({ spec: resumedSpec });
    const first = await activities.finishTask({
      spec: resumedSpec,
      taskIndex: 0,
      trained: await activities.trainTask({ spec: resumedSpec, taskIndex: 0, checkpointRef: 'init' }),
    });
    trainCalls.length = 0;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: bundle, activities });
    const checkpoint = { checkpointRef: 'train-state-1-40', step: 40 };
    const handle = await startResumedAfterTask0(queue, resumedSpec, started, first, 'cancelled', { nextTaskResumeFrom: checkpoint });
    const result = standInResult(await worker.runUntil(handle.result()), store);
    expect(trainCalls.map((c) => [c.taskIndex, c.checkpointRef, c.resumeFrom])).toEqual([
      [1, 'ckpt-0', checkpoint],
      [2, 'ckpt-1', undefined],
    ]);
    expect(result.matrices.fp32).toEqual(R);
  });

  it('with the default event budget, a short run is one execution with the same result', async () => {
    const trainCalls: TrainTaskInput[] = [];
    const store = new Map<string, unknown>();
    const queue = 'orchestration-one-execution';
    const oneExecution = { ...spec, execution: { taskQueue: queue } };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: bundle,
      activities: standInActivities(trainCalls, [], store),
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: queue,
      args: [{ spec: oneExecution }],
    });
    const result = standInResult(await worker.runUntil(handle.result()), store);
    expect(trainCalls.map((c) => [c.taskIndex, c.checkpointRef, c.methodStateRef])).toEqual([
      [0, 'init', undefined],
      [1, 'ckpt-0', 'state-0'],
      [2, 'ckpt-1', 'state-1'],
    ]);
    expect(result.matrices.fp32).toEqual(R);
    expect(result.records.map((r) => r.previousRef)).toEqual([undefined, 'record-0', 'record-1']);
    const runs = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = '${queue}'` })) runs.push(run);
    expect(runs.map((r) => r.status.name)).toEqual(['COMPLETED']);
  });
  it('a long run of tiny tasks keeps every execution far below the history limit', async () => {
    // 30 tasks: without continue-as-new one execution would hold about 30 x 12 events, over the limit.
    // An event budget of 40 (a fifth of the limit) puts a few tasks in each execution.
    const T = 30;
    const BUDGET = 40;
    const long = { ...spec, execution: { taskQueue: 'orchestration-long', continueAsNewAfterEvents: BUDGET } };
    const store = new Map<string, unknown>();
    const base = standInActivities([], [], store);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: long.execution.taskQueue,
      workflowBundle: bundle,
      activities: {
        ...base,
        startRun: async () => ({
          info: { taskNames: Array.from({ length: T }, (_, i) => `t${i}`), heads: 1, classesPerHead: 10 },
          checkpointRef: 'init',
          initialRef: 'initial',
        }),
        // Every task trains from the stand-in's task-0 model: the rows are R's first, whatever T.
        trainTask: async (input: TrainTaskInput) => ({ ...(await base.trainTask(input)), checkpointRef: 'ckpt-0' }),
      },
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: long.execution.taskQueue,
      workflowId: 'orchestration-long',
      args: [{ spec: long }],
    });
    const result = standInResult(await worker.runUntil(handle.result()), store);
    expect(result.matrices.fp32).toHaveLength(T);
    const lengths: number[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = 'orchestration-long'` })) lengths.push(run.historyLength);
    // Several tasks per execution, and none past its budget by more than one task's events.
    // Measured: 10 executions of 3 tasks, 43 events each (49 for the first, 51 for the last).
    expect(lengths.length).toBeGreaterThan(T / 10);
    expect(lengths.length).toBeLessThan(T / 2);
    expect(Math.max(...lengths)).toBeLessThan(BUDGET + 20);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(HISTORY_LIMIT * 1.5);
  });

  it('pause stops training keeping its checkpoint, unpause continues from it; the status attribute follows', async () => {
    const paused = { ...spec, execution: { taskQueue: 'orchestration-pause' } };
    const trainCalls: TrainTaskInput[] = [];
    const store = new Map<string, unknown>();
    const base = standInActivities(trainCalls, [], store);
    let started!: () => void;
    const firstTrainStarted = new Promise<void>((resolve) => (started = resolve));
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: paused.execution.taskQueue,
      workflowBundle: bundle,
      activities: {
        ...base,
        // The first attempt trains until cancelled, then hands back a checkpoint like the real activity.
        trainTask: async (input: TrainTaskInput) => {
          if (trainCalls.length > 0) return base.trainTask(input);
          trainCalls.push(input);
          const ctx = Context.current();
          const details = { taskIndex: input.taskIndex, step: 5, checkpoint: { checkpointRef: 'mid-0', step: 5 } };
          started();
          await beatUntilCancelled(ctx, details);
          throw new CancelledFailure('training task 0 cancelled', [details]);
        },
      },
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: paused.execution.taskQueue,
      workflowId: 'orchestration-pause',
      args: [{ spec: paused }],
      typedSearchAttributes: runSearchAttributes(paused),
    });
    const result = await worker.runUntil(async () => {
      await firstTrainStarted;
      await handle.signal(pauseSignal);
      await waitFor(
        async () =>
          (await handle.query<RunProgress>('progress')).paused &&
          (await handle.describe()).typedSearchAttributes.get(statusKey) === 'paused',
      );
      // Paused: the cancelled attempt is over and nothing new starts.
      expect(trainCalls).toHaveLength(1);
      await handle.signal(unpauseSignal);
      return standInResult(await handle.result(), store);
    });
    expect(trainCalls.map((c) => [c.taskIndex, c.resumeFrom])).toEqual([
      [0, undefined],
      [0, { checkpointRef: 'mid-0', step: 5 }],
      [1, undefined],
      [2, undefined],
    ]);
    expect(result.matrices.fp32).toEqual(R);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(statusKey)).toBe('completed');
    expect(description.typedSearchAttributes.get(methodKey)).toBe('naive');
    expect(description.typedSearchAttributes.get(quantizersKey)).toEqual(['int4']);

    // One execution holds the whole run with the default event budget.
    const runs = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = 'orchestration-pause'` })) runs.push(run);
    expect(runs).toHaveLength(1);

    // RECORD_REPLAY_FIXTURE=1 records this run (pause, unpause, a resumed training, three tasks in
    // one execution, the results) for replay.test.ts.
    if (process.env.RECORD_REPLAY_FIXTURE) {
      const history = await handle.fetchHistory();
      writeFileSync(join(__dirname, 'fixtures', 'paused-run-one-execution.json'), `${historyToJSON(history)}\n`);
    }
  });

  it('a cancelled run ends cancelled, with the status attribute saying so', async () => {
    const cancelled = { ...spec, execution: { taskQueue: 'orchestration-cancel' } };
    let started!: () => void;
    const trainStarted = new Promise<void>((resolve) => (started = resolve));
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: cancelled.execution.taskQueue,
      workflowBundle: bundle,
      activities: {
        ...standInActivities([]),
        trainTask: async () => {
          started();
          await beatUntilCancelled(Context.current(), { taskIndex: 0 });
          throw new CancelledFailure('training task 0 cancelled', [{ taskIndex: 0, checkpoint: { checkpointRef: 'mid-0', step: 3 } }]);
        },
      },
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: cancelled.execution.taskQueue,
      workflowId: 'orchestration-cancel',
      args: [{ spec: cancelled }],
      typedSearchAttributes: runSearchAttributes(cancelled),
    });
    const err = await worker.runUntil(async () => {
      await trainStarted;
      await handle.cancel();
      return handle.result().catch((e: unknown) => e);
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const description = await handle.describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.typedSearchAttributes.get(statusKey)).toBe('cancelled');
  });
});

/** Only a heartbeating activity learns it was cancelled: beat like the real trainTask does. */
async function beatUntilCancelled(ctx: Context, details: unknown): Promise<void> {
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), 200);
  await ctx.cancelled.catch(() => undefined);
  clearInterval(timer);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
