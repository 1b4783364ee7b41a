import {
  averageAccuracy,
  backwardTransfer,
  formatMatrix,
  forgetting,
  forwardTransfer,
  quantizationGap,
  quantizationMetrics,
  summarize,
  type AccuracyMatrix,
} from './index';

// Matrices as a sparse evaluation policy leaves them (spec `evaluation.tasks`): null where a task
// was not evaluated, but always the spine: R[i][i], R[i][i+1] and the last row.

describe('metrics on sparse matrices, hand-computed', () => {
  // seen-and-next over 3 tasks: only R[0][2] (task 2 before tasks 1 and 2 were trained) is skipped.
  const full3 = [
    [0.9, 0.2, 0.1],
    [0.95, 0.8, 0.3],
    [0.6, 0.5, 0.9],
  ];
  const seenAndNext3: AccuracyMatrix = [
    [0.9, 0.2, null],
    [0.95, 0.8, 0.3],
    [0.6, 0.5, 0.9],
  ];
  const b3 = [0.1, 0.1, 0.2];

  it('seen-and-next gives the full matrix metrics when no task peaks before the task before it', () => {
    const m = summarize(seenAndNext3, b3);
    expect(m.acc).toBeCloseTo(2 / 3, 12); // (0.6 + 0.5 + 0.9) / 3
    expect(m.bwt).toBeCloseTo(-0.3, 12); // ((0.6-0.9) + (0.5-0.8)) / 2
    expect(m.fwt).toBeCloseTo(0.1, 12); // ((0.2-0.1) + (0.3-0.2)) / 2
    expect(m.forgetting).toBeCloseTo(0.325, 12); // ((0.95-0.6) + (0.8-0.5)) / 2
    expect(m).toEqual(summarize(full3, b3));
  });

  // { every: 2 } over 4 tasks: full rows after tasks 1 and 3, the spine after tasks 0 and 2.
  const every2: AccuracyMatrix = [
    [0.9, 0.1, null, null],
    [0.7, 0.8, 0.2, 0.1],
    [null, null, 0.85, 0.15],
    [0.5, 0.6, 0.7, 0.9],
  ];
  const b4 = [0.1, 0.1, 0.1, 0.1];

  it('every-k rows: ACC, BWT and FWT read the spine only; forgetting peaks over the rows evaluated', () => {
    expect(averageAccuracy(every2)).toBeCloseTo(0.675, 12); // (0.5 + 0.6 + 0.7 + 0.9) / 4
    expect(backwardTransfer(every2)).toBeCloseTo(-0.25, 12); // ((0.5-0.9) + (0.6-0.8) + (0.7-0.85)) / 3
    expect(forwardTransfer(every2, b4)).toBeCloseTo(0.05, 12); // ((0.1-0.1) + (0.2-0.1) + (0.15-0.1)) / 3
    // j=0: max(0.9, 0.7) - 0.5; j=1: max(0.1, 0.8) - 0.6; j=2: max(0.2, 0.85) - 0.7
    expect(forgetting(every2)).toBeCloseTo((0.4 + 0.2 + 0.15) / 3, 12);
  });

  it('forgetting of a sparse matrix is a lower bound: a peak in a skipped cell is missed', () => {
    // The same run had task 0 at 0.95 after task 2, in a row { every: 2 } skipped.
    const filled = every2.map((row, i) => row.map((v, j) => v ?? (i === 2 && j === 0 ? 0.95 : 0.1)));
    expect(forgetting(filled)).toBeCloseTo((0.45 + 0.2 + 0.15) / 3, 12);
    expect(forgetting(every2)!).toBeLessThan(forgetting(filled)!);
    expect(backwardTransfer(every2)).toBe(backwardTransfer(filled));
  });

  it('quantization gap and metrics cover the cells both models evaluated', () => {
    const int4 = every2.map((row) => row.map((v) => (v === null ? null : v - 0.05)));
    int4[3][0] = 0.3; // forgets task 0 more: 0.9-0.05 - 0.3 = 0.55 instead of 0.4
    const gap = quantizationGap(every2, int4);
    expect(gap.map((row) => row.map((v) => v === null))).toEqual(every2.map((row) => row.map((v) => v === null)));
    expect(gap[3][0]).toBeCloseTo(0.2, 12);
    const m = quantizationMetrics(every2, int4, [{ bytes: 1 }, { bytes: 1 }, { bytes: 1 }, { bytes: 1 }]);
    // 12 evaluated cells: 11 gaps of 0.05 and one of 0.2.
    expect(m.meanGap).toBeCloseTo((11 * 0.05 + 0.2) / 12, 12);
    expect(m.accGap).toBeCloseTo((0.05 * 3 + 0.2) / 4, 12);
    expect(m.quantizationInducedForgetting).toBeCloseTo(0.15 / 3, 12);
  });

  it('a matrix without a cell a metric needs fails naming the metric and the cell', () => {
    const noDiagonal = every2.map((row) => [...row]);
    noDiagonal[2][2] = null;
    expect(() => backwardTransfer(noDiagonal)).toThrow(/BWT needs R\[2\]\[2\] \(task 2 after task 2\), which was not evaluated/);
    const noNext = every2.map((row) => [...row]);
    noNext[2][3] = null;
    expect(() => forwardTransfer(noNext, b4)).toThrow(/FWT needs R\[2\]\[3\]/);
    const shortLastRow = every2.map((row) => [...row]);
    shortLastRow[3][1] = null;
    expect(() => averageAccuracy(shortLastRow)).toThrow(/ACC needs R\[3\]\[1\]/);
    const neverSeen = every2.map((row) => [...row]);
    neverSeen[2][2] = null;
    neverSeen[1][2] = null;
    expect(() => forgetting(neverSeen)).toThrow(/forgetting needs R\[2\]\[2\]/);
  });

  it('prints cells not evaluated as ·', () => {
    expect(formatMatrix('fp32', every2, ['a', 'b', 'c', 'd']).split('\n')).toEqual([
      'fp32',
      '                   a       b       c       d',
      'after task 0  0.9000  0.1000       ·       ·',
      'after task 1  0.7000  0.8000  0.2000  0.1000',
      'after task 2       ·       ·  0.8500  0.1500',
      'after task 3  0.5000  0.6000  0.7000  0.9000',
    ]);
  });
});
