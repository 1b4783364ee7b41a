import { averageAccuracy, backwardTransfer, forgetting, forwardTransfer, quantizationGap, summarize, validateMatrix } from './index';

describe('continual-learning metrics on hand-computed matrices', () => {
  // 2 tasks: task 0 drops from 0.8 to 0.6 after training task 1.
  const R2 = [
    [0.8, 0.3],
    [0.6, 0.9],
  ];
  const b2 = [0.1, 0.1];

  it('computes ACC, BWT, FWT and forgetting for a 2 x 2 matrix', () => {
    expect(averageAccuracy(R2)).toBeCloseTo(0.75, 12);
    expect(backwardTransfer(R2)).toBeCloseTo(-0.2, 12);
    expect(forwardTransfer(R2, b2)).toBeCloseTo(0.2, 12);
    expect(forgetting(R2)).toBeCloseTo(0.2, 12);
  });

  // 3 tasks; task 0 peaks after task 1 (0.95), so forgetting (from the peak) exceeds -BWT (from the diagonal).
  const R3 = [
    [0.9, 0.2, 0.1],
    [0.95, 0.8, 0.3],
    [0.6, 0.5, 0.9],
  ];
  const b3 = [0.1, 0.1, 0.2];

  it('computes ACC, BWT, FWT and forgetting for a 3 x 3 matrix', () => {
    expect(averageAccuracy(R3)).toBeCloseTo(2.0 / 3, 12); // (0.6 + 0.5 + 0.9) / 3
    expect(backwardTransfer(R3)).toBeCloseTo(-0.3, 12); // ((0.6-0.9) + (0.5-0.8)) / 2
    expect(forwardTransfer(R3, b3)).toBeCloseTo(0.1, 12); // ((0.2-0.1) + (0.3-0.2)) / 2
    expect(forgetting(R3)).toBeCloseTo(0.325, 12); // ((0.95-0.6) + (0.8-0.5)) / 2
  });

  it('summarize gathers the four metrics', () => {
    const m = summarize(R3, b3);
    expect(m.acc).toBeCloseTo(2.0 / 3, 12);
    expect(m.bwt).toBeCloseTo(-0.3, 12);
    expect(m.fwt).toBeCloseTo(0.1, 12);
    expect(m.forgetting).toBeCloseTo(0.325, 12);
  });

  it('reports only ACC for a single task (transfer is undefined)', () => {
    expect(summarize([[0.7]], [0.1])).toEqual({ acc: 0.7, bwt: null, fwt: null, forgetting: null });
  });

  it('quantization gap is fp32 minus quantized per cell', () => {
    const q = [
      [0.7, 0.3],
      [0.6, 0.85],
    ];
    const gap = quantizationGap(R2, q);
    expect(gap[0][0]).toBeCloseTo(0.1, 12);
    expect(gap[0][1]).toBeCloseTo(0, 12);
    expect(gap[1][0]).toBeCloseTo(0, 12);
    expect(gap[1][1]).toBeCloseTo(0.05, 12);
  });
});

describe('invalid inputs are rejected with the cell at fault', () => {
  it('rejects an empty matrix', () => {
    expect(() => validateMatrix([])).toThrow(/non-empty T x T/);
  });

  it('rejects a non-square matrix, naming the row', () => {
    expect(() => validateMatrix([[0.5, 0.5], [0.5]])).toThrow(/row 1 has 1 entries; expected 2/);
  });

  it('rejects NaN and percentages, naming the cell', () => {
    expect(() =>
      averageAccuracy([
        [0.5, NaN],
        [0.5, 0.5],
      ]),
    ).toThrow(/R\[0\]\[1\] is NaN/);
    expect(() =>
      backwardTransfer([
        [50, 40],
        [30, 90],
      ]),
    ).toThrow(/R\[0\]\[0\] is 50.*not a percentage/);
  });

  it('rejects initial accuracies of the wrong length', () => {
    expect(() =>
      forwardTransfer(
        [
          [0.5, 0.5],
          [0.5, 0.5],
        ],
        [0.1],
      ),
    ).toThrow(/one value per task \(2\); got 1 values/);
  });

  it('rejects quantization gaps over different task counts', () => {
    expect(() =>
      quantizationGap(
        [[0.5]],
        [
          [0.5, 0.5],
          [0.5, 0.5],
        ],
      ),
    ).toThrow(/fp32 is 1 x 1, quantized is 2 x 2/);
  });
});
