import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { resolveTemporalCli } from '@retain/infra';
import { summarize } from '@retain/metrics';
import type { ExperimentSpec, RetainActivities, TrainTaskInput } from '@retain/sdk';
import { experimentWorkflow } from './index';

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
    env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli.path } } });
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
});
