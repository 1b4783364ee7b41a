import { mlp } from '@retain/engine';
import { estimateRunMemory, evaluationBatchLimit, EVALUATION_CALL_BYTES, formatBytes, memoryProblem } from './memory';

const scenario = {
  name: 'permuted',
  tasks: 2,
  heads: 1,
  classesPerHead: 10,
  inputDims: [784],
  taskNames: ['a', 'b'],
  trainPerTask: 1000,
  testPerTask: 1000,
  datasetBytes: 55e6,
};

describe('the memory bound', () => {
  it('counts parameters with their copies and optimizer state, and names the model when they dominate', () => {
    const model = mlp({ inputSize: 784, hidden: [4096, 4096], classesPerHead: 10, heads: 1 });
    const estimate = estimateRunMemory(
      {
        model,
        scenario,
        activations: { train: 16384, evaluate: 8192 },
        trainer: { batchSize: 128, stepsPerRun: 8, optimizerSlots: 2 },
        methodStateFloats: 0,
        evaluationBatch: 1000,
      },
      { evaluator: 'evaluators.0.config.batchSize' },
    );
    // Measured 1.95-2.19 GB peak RSS for this model (README "Memory bound").
    expect(estimate.peakBytes).toBeGreaterThan(1.5e9);
    expect(estimate.peakBytes).toBeLessThan(3e9);
    expect(memoryProblem(estimate, 64e9)).toBeUndefined();
    expect(memoryProblem(estimate, 1e9)).toEqual({
      field: 'model.config',
      problem: expect.stringMatching(
        /^the run needs about 2\.\d GB of memory at its peak, most of it parameters \(20\.0M floats\).*but this machine has 1\.0 GB/,
      ),
    });
  });

  it('names the number of tasks when per-task heads hold most parameters', () => {
    const model = mlp({ inputSize: 784, hidden: [16], classesPerHead: 1000, heads: 1000 });
    const estimate = estimateRunMemory(
      {
        model,
        scenario: { ...scenario, tasks: 1000, heads: 1000 },
        activations: { train: 64, evaluate: 64 },
        trainer: { batchSize: 128, stepsPerRun: 8, optimizerSlots: 1 },
        methodStateFloats: 0,
        evaluationBatch: 1000,
      },
      { evaluator: 'evaluators.0.config.batchSize' },
    );
    expect(memoryProblem(estimate, 1e6)?.field).toBe('benchmark.config.tasks');
  });

  it('bounds one evaluation call by EVALUATION_CALL_BYTES, at least one example', () => {
    expect(evaluationBatchLimit(10_000_000, 784)).toBe(Math.floor(EVALUATION_CALL_BYTES / (10_000_784 * 4)));
    expect(evaluationBatchLimit(1e12, 784)).toBe(1);
    expect(formatBytes(9_287_968_000)).toBe('9.3 GB');
  });
});
