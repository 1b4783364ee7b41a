import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalArtifactStore } from '@retain/artifacts';
import { forgetting, type AccuracyMatrix } from '@retain/metrics';
import {
  evaluatedTasks,
  type EvaluationTasks,
  type ExperimentResult,
  type ExperimentSpec,
  type FinishedTask,
  type RetainActivities,
  type StartRunOutput,
  type TrainTaskOutput,
} from '@retain/sdk';
import { createActivities } from './activities';
import { defaultRegistry } from './plugins';
import { experimentResultOf } from './run-records';

// Four tiny permuted tasks, trained once (training does not depend on the evaluation policy),
// then finished and assembled under each policy with real plugins, data and onnxruntime.
jest.setTimeout(120_000);

const T = 4;
const specOf = (tasks?: EvaluationTasks): ExperimentSpec =>
  defaultRegistry().validateSpec({
    name: 'evaluation-policy-test',
    seed: 5,
    benchmark: { name: 'permuted-fmnist', config: { tasks: T, trainPerTask: 600, testPerTask: 200 } },
    model: { name: 'mlp', config: { hidden: [32] } },
    trainer: { name: 'supervised', config: { epochs: 2, batchSize: 64 } },
    quantizers: [{ name: 'rtn', config: { bits: 4 } }],
    ...(tasks ? { evaluation: { tasks } } : {}),
  });

const run = <R>(fn: () => Promise<R>) =>
  new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run<[], R, () => Promise<R>>(fn);

let dir: string;
let store: LocalArtifactStore;
let full: ExperimentResult;
let activities: RetainActivities;
let prepared: StartRunOutput;
const trained: TrainTaskOutput[] = [];

/** The run's results under one policy: every task finished under it, then finishRun. */
async function resultUnder(tasks?: EvaluationTasks): Promise<ExperimentResult> {
  const spec = specOf(tasks);
  let previous: FinishedTask | undefined;
  for (let t = 0; t < T; t++) previous = await run(() => activities.finishTask({ spec, taskIndex: t, trained: trained[t], previous }));
  const state = {
    runId: `policy-${JSON.stringify(tasks ?? 'default')}`,
    spec,
    info: prepared.info,
    nextTask: T,
    initialCheckpointRef: prepared.checkpointRef,
    initialRef: prepared.initialRef,
    last: previous,
    startedAt: '2026-01-01T00:00:00.000Z',
  };
  return experimentResultOf(await run(() => activities.finishRun({ state })), store);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retain-evaluation-policy-'));
  store = new LocalArtifactStore(dir);
  activities = createActivities({ registry: defaultRegistry(), artifacts: store });
  const spec = specOf();
  prepared = await run(() => activities.startRun({ spec }));
  let checkpointRef = prepared.checkpointRef;
  for (let t = 0; t < T; t++) {
    trained.push(await run(() => activities.trainTask({ spec, taskIndex: t, checkpointRef })));
    checkpointRef = trained[t].checkpointRef;
  }
  full = await resultUnder();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Which cells of a matrix hold a number, as rows of 'x' and '.'. */
const patternOf = (R: AccuracyMatrix) => R.map((row) => row.map((v) => (v === null ? '.' : 'x')).join(''));
const expectedPattern = (tasks: EvaluationTasks) =>
  Array.from({ length: T }, (_, t) => {
    const evaluated = new Set(evaluatedTasks(tasks, t, T, 5));
    return Array.from({ length: T }, (_, j) => (evaluated.has(j) ? 'x' : '.')).join('');
  });

/** Every evaluated cell holds what the full run measured there (the same models on the same tasks). */
function expectCellsOfFull(result: ExperimentResult): void {
  for (const [model, R] of Object.entries(result.matrices))
    R.forEach((row, i) => row.forEach((v, j) => v !== null && expect([model, i, j, v]).toEqual([model, i, j, full.matrices[model][i][j]])));
}

describe('evaluation policies in a real 4-task run', () => {
  test('the default evaluates the full matrix', () => {
    expect(full.spec.evaluation).toBeUndefined();
    for (const R of Object.values(full.matrices)) expect(patternOf(R)).toEqual(['xxxx', 'xxxx', 'xxxx', 'xxxx']);
  });

  test("seen-and-next evaluates exactly tasks 0..t+1 after task t, and gives the full run's ACC, BWT, FWT and forgetting", async () => {
    const result = await resultUnder('seen-and-next');
    for (const R of [...Object.values(result.matrices), ...Object.values(result.quantizationGap)])
      expect(patternOf(R)).toEqual(['xx..', 'xxx.', 'xxxx', 'xxxx']);
    expectCellsOfFull(result);
    // Forgetting agrees because its maximum was not in a skipped cell: of those, it reads only
    // task 2 after task 0 (before tasks 1 and 2 were trained), below task 2 after task 2.
    for (const R of Object.values(full.matrices)) expect(R[0][2]!).toBeLessThan(R[2][2]!);
    expect(result.metrics).toEqual(full.metrics);
    const [q] = Object.keys(result.quantization);
    expect(result.quantization[q].accGap).toBe(full.quantization[q].accGap);
    expect(result.quantization[q].quantizationInducedForgetting).toBe(full.quantization[q].quantizationInducedForgetting);
    // The mean gap runs over the 13 cells evaluated.
    const gaps = result.quantizationGap[q].flat().filter((g): g is number => g !== null);
    expect(gaps).toHaveLength(13);
    expect(result.quantization[q].meanGap).toBeCloseTo(gaps.reduce((a, b) => a + b, 0) / 13, 12);
  });

  test("{ every: 2 } and { sample: 1 } evaluate their cells only; ACC, BWT and FWT are the full run's, forgetting at most", async () => {
    for (const tasks of [{ every: 2 }, { sample: 1 }]) {
      const result = await resultUnder(tasks);
      expect(result.spec.evaluation).toEqual({ tasks });
      for (const R of Object.values(result.matrices)) expect(patternOf(R)).toEqual(expectedPattern(tasks));
      expectCellsOfFull(result);
      for (const model of Object.keys(full.metrics)) {
        const { forgetting: f, ...rest } = result.metrics[model];
        const { forgetting: fullF, ...fullRest } = full.metrics[model];
        expect(rest).toEqual(fullRest);
        expect(f).toBe(forgetting(result.matrices[model]));
        expect(f!).toBeLessThanOrEqual(fullF!);
      }
    }
    expect(expectedPattern({ every: 2 })).toEqual(['xx..', 'xxxx', '..xx', 'xxxx']);
  });
});
