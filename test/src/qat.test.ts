import type { ExperimentResult } from '@retain/sdk';
import { createHarness, smallPermutedSpec, type Harness } from './harness';

/** Mean over the cells of row i, column j <= i (tasks seen) of fp32 minus int4 accuracy. */
function meanSeenGap(result: ExperimentResult, id: string): number {
  const gap = result.quantizationGap[id];
  const seen = gap.flatMap((row, i) => row.slice(0, i + 1).map((v) => v ?? NaN));
  return seen.reduce((a, b) => a + b, 0) / seen.length;
}

describe('quantization-aware training through the real workflow (2 permuted Fashion-MNIST tasks, int4 RTN)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness('qat');
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('trains through the int4 quantizer (min-max and LSQ steps): both learn, and their int4 models stay as close to fp32 as post-training RTN', async () => {
    const spec = (qat?: { quantizer: string; lsq: boolean }) =>
      smallPermutedSpec({
        name: 'it-qat',
        benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 6000, testPerTask: 2000 } },
        model: { name: 'mlp', config: { hidden: [64] } },
        quantizers: [{ id: 'int4', name: 'rtn', config: { bits: 4 } }],
        ...(qat ? { qat } : {}),
      });
    const ptq = await harness.run(spec());
    const qat = await harness.run(spec({ quantizer: 'int4', lsq: false }));
    const lsq = await harness.run(spec({ quantizer: 'int4', lsq: true }));
    const gaps = { ptq: meanSeenGap(ptq, 'int4'), qat: meanSeenGap(qat, 'int4'), lsq: meanSeenGap(lsq, 'int4') };
    // Reported, not asserted: at this scale per-channel int4 RTN of an MLP costs about a point,
    // within test-set noise, so QAT's advantage is not measurable here. Measured mean gap over the
    // seen cells (fp32 - int4), seeds 7 / 8 / 9: post-training 0.0112 / -0.0060 / -0.0013,
    // QAT 0.0065 / 0.0033 / 0.0108, QAT + LSQ -0.0027 / 0.0093 / 0.0017.
    console.log(`int4 gap (mean over seen cells): post-training ${gaps.ptq}, QAT ${gaps.qat}, QAT+LSQ ${gaps.lsq}`);
    for (const run of [qat, lsq]) {
      // Training through the quantizer still learns each task (measured diagonal >= 0.752, fp32 and int4; chance 0.1).
      for (const id of ['fp32', 'int4']) for (const i of [0, 1]) expect(run.matrices[id][i][i]).toBeGreaterThan(0.7);
      expect(run.spec.qat?.quantizer).toBe('int4');
    }
    // The int4 model of a QAT run is as close to fp32 as post-training RTN (largest |mean gap| measured: 0.0112).
    for (const gap of Object.values(gaps)) expect(Math.abs(gap)).toBeLessThan(0.03);
    // LSQ exported on its own learned steps: a different int4 model than min-max QAT gives.
    expect(lsq.matrices.int4).not.toEqual(qat.matrices.int4);
  });
});
