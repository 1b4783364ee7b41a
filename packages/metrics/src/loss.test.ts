import {
  averageLoss,
  averagePerplexity,
  backwardTransferLoss,
  formatLossMetricsTable,
  forgettingLoss,
  forwardTransferLoss,
  summarizeLoss,
  validateLossMatrix,
} from './index';

describe('loss metrics (lower is better) on hand-computed matrices', () => {
  // 3 tasks. Task 0: 2.0 when trained, 1.8 after task 1 (still improving), 2.6 at the end.
  // Task 1: 1.5 when trained, 2.1 at the end. Rows above the diagonal (untrained tasks) are high,
  // and L[0][1] = 1.0 is below anything task 1 reached once trained: forgetting must ignore it.
  const L = [
    [2.0, 1.0, 4.0],
    [1.8, 1.5, 3.9],
    [2.6, 2.1, 1.2],
  ];

  it('final loss and perplexity average the last row; perplexity is exp of the mean loss', () => {
    expect(averageLoss(L)).toBeCloseTo((2.6 + 2.1 + 1.2) / 3, 12);
    expect(averagePerplexity(L)).toBeCloseTo(Math.exp((2.6 + 2.1 + 1.2) / 3), 12);
    // The geometric mean of the per-task perplexities, by construction.
    expect(averagePerplexity(L)).toBeCloseTo(Math.cbrt(Math.exp(2.6) * Math.exp(2.1) * Math.exp(1.2)), 10);
  });

  it('BWT on loss: final minus just-trained, positive when the model forgot', () => {
    expect(backwardTransferLoss(L)).toBeCloseTo((2.6 - 2.0 + (2.1 - 1.5)) / 2, 12);
  });

  it('forgetting on loss: final minus the lowest loss once trained (rows j..T-2 only)', () => {
    // Task 0: min(2.0, 1.8) = 1.8 -> 0.8; task 1: min(1.5) = 1.5 (not L[0][1] = 1.0) -> 0.6.
    expect(forgettingLoss(L)).toBeCloseTo((0.8 + 0.6) / 2, 12);
  });

  it('FWT on loss: loss on the next task before training it minus the untrained loss, negative when earlier tasks helped', () => {
    const b = [5.5, 5.0, 3.0];
    // ((L[0][1] - b[1]) + (L[1][2] - b[2])) / 2 = ((1.0 - 5.0) + (3.9 - 3.0)) / 2
    expect(forwardTransferLoss(L, b)).toBeCloseTo((-4.0 + 0.9) / 2, 12);
    expect(forwardTransferLoss([[3]], [4])).toBeNull();
    expect(() => forwardTransferLoss(L, [1, 2])).toThrow(/one value per task \(3\); got 2 values/);
    expect(() => forwardTransferLoss(L, [1, NaN, 2])).toThrow(/initial loss b\[1\] is NaN/);
  });

  it('a model that improved on earlier tasks has negative BWT and forgetting', () => {
    const better = [
      [2.0, 3.0],
      [1.5, 1.0],
    ];
    expect(backwardTransferLoss(better)).toBeCloseTo(-0.5, 12);
    expect(forgettingLoss(better)).toBeCloseTo(-0.5, 12);
  });

  it('summarizeLoss gathers them; with one task the transfer terms are null', () => {
    const m = summarizeLoss(L, [5.5, 5.0, 3.0]);
    expect(m.loss).toBeCloseTo(5.9 / 3, 12);
    expect(m.fwt).toBeCloseTo(-1.55, 12);
    expect(summarizeLoss(L).fwt).toBeNull();
    expect(m.perplexity).toBe(Math.exp(m.loss));
    expect(m.bwt).toBeCloseTo(0.6, 12);
    expect(m.forgetting).toBeCloseTo(0.7, 12);
    expect(summarizeLoss([[3]], [4])).toEqual({ loss: 3, perplexity: Math.exp(3), bwt: null, fwt: null, forgetting: null });
  });
});

describe('null cells, as the accuracy metrics treat them', () => {
  it('skipped cells the metrics do not read change nothing; forgetting takes its minimum over the evaluated ones', () => {
    const sparse = [
      [2.0, 1.0, null],
      [null, 1.5, 3.9],
      [2.6, 2.1, 1.2],
    ];
    expect(averageLoss(sparse)).toBeCloseTo(5.9 / 3, 12);
    expect(backwardTransferLoss(sparse)).toBeCloseTo(0.6, 12);
    // Task 0's 1.8 after task 1 was not evaluated: its minimum is 2.0, so forgetting is a lower bound.
    expect(forgettingLoss(sparse)).toBeCloseTo((0.6 + 0.6) / 2, 12);
    expect(forwardTransferLoss(sparse, [5.5, 5.0, 3.0])).toBeCloseTo(-1.55, 12);
  });

  it('throws naming the metric and the cell where a cell it needs was not evaluated', () => {
    const noDiagonal = [
      [null, 1.0],
      [2.0, 1.5],
    ];
    expect(() => backwardTransferLoss(noDiagonal)).toThrow(/BWT \(loss\) needs L\[0\]\[0\]/);
    expect(() => forgettingLoss(noDiagonal)).toThrow(/forgetting \(loss\) needs L\[0\]\[0\]/);
    expect(() =>
      averageLoss([
        [1, 1],
        [1, null],
      ]),
    ).toThrow(/loss needs L\[1\]\[1\]/);
  });

  it('rejects matrices that are not square or hold cells that are not losses', () => {
    expect(() => validateLossMatrix([])).toThrow(/non-empty T x T/);
    expect(() => validateLossMatrix([[1, 2]])).toThrow(/row 0 has 2 entries; expected 1/);
    expect(() => validateLossMatrix([[-0.1]])).toThrow(/L\[0\]\[0\] is -0.1; losses must be finite numbers ≥ 0/);
    // Accuracy's [0, 1] bound does not apply: a byte-level LM starts near ln 256 ≈ 5.5 nats.
    expect(() => validateLossMatrix([[5.545]])).not.toThrow();
  });
});

describe('formatLossMetricsTable', () => {
  it('prints one row per model, signed transfer terms, n/a with one task', () => {
    const table = formatLossMetricsTable({
      fp32: { loss: 1.9, perplexity: Math.exp(1.9), bwt: 0.6, fwt: -1.25, forgetting: 0.7 },
      'rtn-int4': { loss: 2.05, perplexity: Math.exp(2.05), bwt: -0.01, fwt: null, forgetting: null },
    });
    expect(table.split('\n')).toEqual([
      'model       loss  perplexity  BWT (loss)  FWT (loss)  Forgetting (loss)',
      'fp32      1.9000       6.686     +0.6000     -1.2500            +0.7000',
      'rtn-int4  2.0500       7.768     -0.0100         n/a                n/a',
    ]);
  });
});
