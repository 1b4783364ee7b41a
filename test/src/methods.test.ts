import type { ExperimentResult, ExperimentSpec } from '@retain/sdk';
import { createHarness, smallPermutedSpec, type Harness } from './harness';

/**
 * Every method against forgetting, through the real workflow, worker and onnxruntime, on short
 * 2-task runs: naive is measured once per scenario, and each method must forget less than it by
 * a margin set from values we measured (seed 7, 2000 training and 500 test samples per task,
 * 2 epochs of SGD lr 0.05 momentum 0.9). Forgetting here is f_0 = R[0][0] - R[1][0]. Measured:
 * naive 0.182 permuted and 0.162 split; every method's value is listed with its case. The
 * smallest gap to naive measured is 0.148 (adaptive-lr), so a 0.1 margin leaves room for
 * platform-level float differences while still failing a method that does nothing.
 */
const trainer = { name: 'supervised', config: { epochs: 2, batchSize: 64, lr: 0.05, optimizer: { name: 'sgd', momentum: 0.9 } } };

function permuted(method: ExperimentSpec['method'] | string): ExperimentSpec {
  return smallPermutedSpec({
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 2000, testPerTask: 500 } },
    trainer,
    method,
    quantizers: [],
  });
}

function split(
  method: ExperimentSpec['method'] | string,
  model: ExperimentSpec['model'] | string = { name: 'mlp', config: { hidden: [64] } },
  mode: 'task-il' | 'class-il' = 'task-il',
) {
  return smallPermutedSpec({
    name: 'it-split',
    benchmark: { name: 'split-fmnist', config: { tasks: 2, mode, trainPerTask: 2000, testPerTask: 500 } },
    model,
    trainer,
    method,
    quantizers: [],
  });
}

/**
 * The old results script's quick setting (lr 0.01, momentum 0.9, batch 32, 1000 samples per task)
 * on 6 permuted tasks, seed 1: with the old default lambda 50 EWC's summed Fisher made the loss
 * Infinity at task 4 and online EWC's at task 5 (found with that script, since replaced by sweeps).
 */
function manyPermutedTasks(method: string): ExperimentSpec {
  return smallPermutedSpec({
    name: 'it-many-tasks',
    seed: 1,
    benchmark: { name: 'permuted-fmnist', config: { tasks: 6, trainPerTask: 1000, testPerTask: 500 } },
    model: { name: 'mlp', config: { hidden: [64] } },
    trainer: { name: 'supervised', config: { epochs: 1, batchSize: 32, lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } } },
    method: { name: method, config: {} },
    quantizers: [],
  });
}

/** Defined for runs of two or more tasks, as these are. */
const forgetting = (r: ExperimentResult): number => {
  const f = r.metrics.fp32.forgetting;
  if (f === null) throw new Error(`run ${r.runId} has no forgetting: it needs at least two tasks`);
  return f;
};

// [method, measured forgetting (naive: 0.182)]
const permutedCases: [ExperimentSpec['method'], number][] = [
  // EWC's default lambda (1) is set for 10 tasks, where larger ones forget more (README); on two
  // tasks a larger one is what protects the first, as measured here.
  [{ name: 'ewc', config: { lambda: 20 } }, 0.02],
  // With two tasks online EWC's running Fisher is the first task's: the same run as EWC.
  [{ name: 'online-ewc', config: {} }, 0.02],
  [{ name: 'si', config: {} }, 0.032],
  [{ name: 'replay', config: {} }, -0.05],
  [{ name: 'replay', config: { policy: 'class-balanced' } }, -0.046],
  [{ name: 'agem', config: {} }, -0.02],
  [{ name: 'adaptive-lr', config: {} }, 0.034],
  [{ name: 'joint', config: {} }, -0.022],
];
const MARGIN = 0.1;

describe('methods against forgetting, 2-task runs through the real workflow', () => {
  let harness: Harness;
  let naivePermuted: ExperimentResult;
  let naiveSplit: ExperimentResult;
  const results = new Map<string, Promise<ExperimentResult>>();
  /** Every run starts at once (the worker runs them side by side); each test awaits its own. */
  const runOf = (key: string) => results.get(key)!;
  beforeAll(async () => {
    harness = await createHarness('methods');
    results.set('naive-permuted', harness.run(permuted('naive')));
    results.set('naive-split', harness.run(split('naive')));
    for (const [method] of permutedCases) results.set(JSON.stringify(method), harness.run(permuted(method)));
    results.set('lwf', harness.run(split({ name: 'lwf', config: {} })));
    results.set('pnn', harness.run(split({ name: 'pnn', config: {} }, { name: 'pnn-mlp', config: { hidden: [64] } })));
    results.set('naive-class-il', harness.run(split('naive', undefined, 'class-il')));
    results.set('replay-class-il', harness.run(split({ name: 'replay', config: { policy: 'class-balanced' } }, undefined, 'class-il')));
    for (const method of ['ewc', 'online-ewc']) results.set(`${method}-many-tasks`, harness.run(manyPermutedTasks(method)));
    for (const method of ['replay', 'agem', 'joint']) results.set(`${method}-task-il`, harness.run(split({ name: method, config: {} })));
    for (const r of results.values()) r.catch(() => undefined); // each test reports its own failure
    naivePermuted = await runOf('naive-permuted');
    naiveSplit = await runOf('naive-split');
  }, 300_000);
  afterAll(async () => {
    await harness?.close();
  });

  it('naive forgets on both scenarios (the baseline the margins below are measured from)', () => {
    // Measured 0.182 (permuted) and 0.162 (split, task-IL).
    expect(forgetting(naivePermuted)).toBeGreaterThan(0.1);
    expect(forgetting(naiveSplit)).toBeGreaterThan(0.1);
  });

  it.each(permutedCases)('permuted: %j forgets less than naive (measured %d)', async (method) => {
    const result = await runOf(JSON.stringify(method));
    expect(forgetting(result)).toBeLessThan(forgetting(naivePermuted) - MARGIN);
    // It still learns the new task: within 0.1 of naive's accuracy on it.
    expect(result.matrices.fp32[1][1]).toBeGreaterThan(naivePermuted.matrices.fp32[1][1]! - 0.1);
  });

  it('split (task-IL): lwf forgets less than naive', async () => {
    const result = await runOf('lwf');
    // Measured 0.040 vs naive 0.162.
    expect(forgetting(result)).toBeLessThan(forgetting(naiveSplit) - 0.08);
  });

  it.each(['ewc', 'online-ewc'])('%s with its defaults stays finite over 6 permuted tasks and learns each', async (method) => {
    const result = await runOf(`${method}-many-tasks`); // a diverging loss fails the run
    const r = result.matrices.fp32;
    // Every task learned: measured R[j][j] >= 0.646 (ewc) and 0.658 (online-ewc); chance is 0.1.
    for (let j = 0; j < 6; j++) expect(r[j][j]).toBeGreaterThan(0.5);
    expect(Number.isFinite(result.metrics.fp32.acc)).toBe(true);
  });

  it.each(['replay', 'agem', 'joint'])('split (task-IL): %s runs with a head per task and forgets less than naive', async (method) => {
    const result = await runOf(`${method}-task-il`);
    // Measured: MEASURED_TASK_IL vs naive 0.162.
    expect(forgetting(result)).toBeLessThan(forgetting(naiveSplit) - 0.05);
  });

  it('split (task-IL): pnn does not forget at all, by construction', async () => {
    const result = await runOf('pnn');
    const r = result.matrices.fp32;
    expect(r[1][0]).toBe(r[0][0]);
    expect(forgetting(result)).toBe(0);
    // Measured 0.904 on the new task.
    expect(r[1][1]).toBeGreaterThan(0.8);
  });

  it('split (class-IL): class-balanced replay keeps the first task where naive loses it entirely', async () => {
    const [naive, replay] = [await runOf('naive-class-il'), await runOf('replay-class-il')];
    // Measured 0.816 for naive (task 0's classes are never predicted again) and 0.128 for replay.
    expect(forgetting(naive)).toBeGreaterThan(0.6);
    expect(forgetting(replay)).toBeLessThan(forgetting(naive) - 0.5);
  });
});
