import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { createHarness, smallPermutedSpec, type Harness } from './harness';

describe('experimentWorkflow on a real Temporal server, worker and onnxruntime', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness('experiment');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('trains 2 permuted tasks, quantizes, evaluates, and reports matrices and metrics of the right shape', async () => {
    const spec = smallPermutedSpec();
    const result = await harness.run(spec);

    expect(result.tasks).toHaveLength(2);
    expect(Object.keys(result.matrices).sort()).toEqual(['fp32', 'rtn-int4', 'rtn-int8']);
    for (const matrix of Object.values(result.matrices)) {
      expect(matrix).toHaveLength(2);
      for (const row of matrix) {
        expect(row).toHaveLength(2);
        for (const a of row) expect(a >= 0 && a <= 1).toBe(true);
      }
    }
    const fp32 = result.matrices.fp32;
    // Measured 0.8065 and 0.8195 (seed 7, 12k samples, one epoch); chance is 0.1.
    expect(fp32[0][0]).toBeGreaterThan(0.7);
    expect(fp32[1][1]).toBeGreaterThan(0.7);
    // The untrained model is near chance on every task.
    for (const b of result.initial) expect(b).toBeLessThan(0.3);
    // Learning a new permutation disturbs the first task: naive fine-tuning forgets.
    expect(result.metrics.fp32.forgetting).toBeGreaterThan(0);
    expect(result.metrics.fp32.bwt).toBeCloseTo(fp32[1][0] - fp32[0][0], 10);

    // Per-channel RTN: measured largest |fp32 - quantized| 0.0015 for int8 and 0.0075 for int4.
    const largestGap = (id: string) => Math.max(...result.quantizationGap[id].flat().map(Math.abs));
    expect(largestGap('rtn-int8')).toBeLessThan(0.01);
    expect(largestGap('rtn-int4')).toBeLessThan(0.05);
    const int4 = result.matrices['rtn-int4'];
    for (const [i, j] of [
      [0, 0],
      [1, 0],
      [1, 1],
    ])
      expect(int4[i][j]).toBeGreaterThan(0.7);

    expect(result.training).toHaveLength(2);
    expect(result.training[0].samples).toBe(12000);
    expect(result.models[1].quantized['rtn-int4'].bytes).toBeLessThan(result.models[1].quantized['rtn-int8'].bytes);

    // Quantization metrics: one crossing rate per task after the first, a share of the codes.
    for (const id of ['rtn-int8', 'rtn-int4']) {
      const q = result.quantization[id];
      expect(q.bucketCrossingRate[0]).toBeNull();
      expect(q.bucketCrossingRate[1]).toBeGreaterThan(0);
      expect(q.bucketCrossingRate[1]).toBeLessThan(1);
      expect(q.quantizationInducedForgetting).toBeCloseTo(result.metrics[id].forgetting! - result.metrics.fp32.forgetting!, 12);
    }
    // Coarser buckets are crossed less often by the same update.
    expect(result.quantization['rtn-int4'].bucketCrossingRate[1]!).toBeLessThan(result.quantization['rtn-int8'].bucketCrossingRate[1]!);
  });

  it('is a pure function of spec and seed: the same spec twice gives identical matrices and checkpoints', async () => {
    const spec = smallPermutedSpec({
      seed: 11,
      benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 3000, testPerTask: 1000 } },
    });
    const [a, b] = [await harness.run(spec), await harness.run(spec)];
    expect(a.matrices).toEqual(b.matrices);
    expect(a.initial).toEqual(b.initial);
    expect(a.models.map((m) => m.checkpointRef)).toEqual(b.models.map((m) => m.checkpointRef));

    const other = await harness.run({ ...spec, seed: 12 });
    expect(other.models[0].checkpointRef).not.toEqual(a.models[0].checkpointRef);
  });

  it('fails a run at once, without retries, when the benchmark config does not fit the data', async () => {
    const spec = smallPermutedSpec({ benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 70000 } } });
    const failure = await harness.run(spec).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (failure as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    // Retrying cannot make 70,000 samples out of 60,000: the first attempt is the last.
    expect((activityFailure as ActivityFailure).retryState).toBe('NON_RETRYABLE_FAILURE');
    const cause = (activityFailure as ActivityFailure).cause as ApplicationFailure;
    expect(cause.type).toBe('ScenarioConfigError');
    expect(cause.message).toMatch(/asked for 70000 samples but only 60000 exist/);
  });
});
