import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { resolveTemporalCli } from '@retain/infra';
import { summarize } from '@retain/metrics';
import type { ExperimentSpec, RetainActivities, RunProgress, TrainTaskInput } from '@retain/sdk';
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

function standInActivities(trainCalls: TrainTaskInput[]): RetainActivities {
  const rowOf = (checkpointRef: string) => (checkpointRef === 'init' ? INITIAL : R[Number(checkpointRef.split('-')[1])]);
  return {
    prepareRun: async () => ({ info: { taskNames: ['t0', 't1', 't2'], heads: 1, classesPerHead: 10 }, checkpointRef: 'init' }),
    trainTask: async (input) => {
      trainCalls.push(input);
      return { checkpointRef: `ckpt-${input.taskIndex}`, steps: 10, samples: 640, seconds: 1, finalLoss: 0.5, samplesPerSec: 640 };
    },
    consolidate: async ({ taskIndex }) => ({ methodStateRef: `state-${taskIndex}` }),
    // The stand-in's crossing rate names the codes it compared, so the test sees the chaining.
    quantize: async ({ taskIndex, quantizerId, previousCodesRef }) => ({
      manifestRef: `${quantizerId}-${taskIndex}`,
      bytes: 100,
      codesRef: `codes-${taskIndex}`,
      ...(previousCodesRef ? { bucketCrossingRate: Number(previousCodesRef.split('-')[1]) / 10 } : {}),
    }),
    evaluate: async ({ checkpointRef, manifestRef }) => ({
      accuracy: rowOf(checkpointRef).map((a) => (manifestRef ? a - INT4_DROP : a)),
      extra: {},
    }),
  };
}

describe('experimentWorkflow orchestration', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundle;

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

  it('chains checkpoints and method state task to task, assembles every matrix, and continues as new per task', async () => {
    const trainCalls: TrainTaskInput[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: spec.execution.taskQueue,
      workflowBundle: bundle,
      activities: standInActivities(trainCalls),
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: spec.execution.taskQueue,
      workflowId: 'orchestration-1',
      args: [{ spec }],
    });
    const result = await worker.runUntil(handle.result());

    expect(trainCalls.map((c) => [c.taskIndex, c.checkpointRef, c.methodStateRef])).toEqual([
      [0, 'init', undefined],
      [1, 'ckpt-0', 'state-0'],
      [2, 'ckpt-1', 'state-1'],
    ]);
    expect(result.matrices.fp32).toEqual(R);
    expect(result.matrices.int4).toEqual(R.map((row) => row.map((a) => a - INT4_DROP)));
    expect(result.initial).toEqual(INITIAL);
    expect(result.metrics.fp32).toEqual(summarize(R, INITIAL));
    expect(result.metrics.fp32.acc).toBeCloseTo((0.6 + 0.5 + 0.85) / 3, 12);
    for (const gap of result.quantizationGap.int4.flat()) expect(gap).toBeCloseTo(INT4_DROP, 12);
    expect(result.models.map((m) => m.quantized.int4.manifestRef)).toEqual(['int4-0', 'int4-1', 'int4-2']);
    // Each task's quantize got the previous task's codes: crossing rates name codes-0 and codes-1.
    expect(result.quantization.int4.bucketCrossingRate).toEqual([null, 0, 0.1]);
    expect(result.quantization.int4.bytes).toEqual([100, 100, 100]);
    expect(result.quantization.int4.quantizationInducedForgetting).toBeCloseTo(0, 12); // a constant drop forgets nothing more
    expect(result.runId).toBe('orchestration-1');

    // Three executions: the first, then one continue-as-new after each task but the last.
    const runs = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = 'orchestration-1'` })) runs.push(run);
    expect(runs).toHaveLength(3);
    expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW')).toHaveLength(2);
  });
  it('a long run of tiny tasks keeps every execution far below the history limit', async () => {
    // 25 tasks: without continue-as-new one execution would hold about 25 x 35 events, over four times the limit.
    const T = 25;
    const long = { ...spec, execution: { taskQueue: 'orchestration-long' } };
    const base = standInActivities([]);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: long.execution.taskQueue,
      workflowBundle: bundle,
      activities: {
        ...base,
        prepareRun: async () => ({
          info: { taskNames: Array.from({ length: T }, (_, i) => `t${i}`), heads: 1, classesPerHead: 10 },
          checkpointRef: 'init',
        }),
        evaluate: async () => ({ accuracy: Array.from({ length: T }, () => 0.5), extra: {} }),
      },
    });
    const handle = await env.client.workflow.start(experimentWorkflow, {
      taskQueue: long.execution.taskQueue,
      workflowId: 'orchestration-long',
      args: [{ spec: long }],
    });
    const result = await worker.runUntil(handle.result());
    expect(result.matrices.fp32).toHaveLength(T);
    const lengths: number[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = 'orchestration-long'` })) lengths.push(run.historyLength);
    expect(lengths).toHaveLength(T);
    // Measured: 47 events for the first execution (prepare and the initial evaluation), 35 for the others.
    expect(Math.max(...lengths)).toBeLessThan(HISTORY_LIMIT / 3);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(HISTORY_LIMIT * 4);
  });

  it('pause stops training keeping its checkpoint, unpause continues from it; the status attribute follows', async () => {
    const paused = { ...spec, execution: { taskQueue: 'orchestration-pause' } };
    const trainCalls: TrainTaskInput[] = [];
    const base = standInActivities(trainCalls);
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
      return handle.result();
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

    // RECORD_REPLAY_FIXTURE=1 records this run's first execution (pause, unpause, a resumed
    // training, continue-as-new) and its last (the results) for replay.test.ts.
    if (process.env.RECORD_REPLAY_FIXTURE) {
      const first = await env.client.workflow.getHandle('orchestration-pause', handle.firstExecutionRunId).fetchHistory();
      const last = await handle.fetchHistory();
      for (const [name, history] of [
        ['first', first],
        ['last', last],
      ] as const) {
        writeFileSync(join(__dirname, 'fixtures', `paused-run-${name}-execution.json`), `${historyToJSON(history)}\n`);
      }
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
