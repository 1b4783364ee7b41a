import { AccuracyMatrix, evaluatedCell, validateInitial, validateMatrix } from './matrix';

/** The standard continual-learning summary of one accuracy matrix; transfer terms are null when T = 1. */
export interface CLMetrics {
  acc: number;
  bwt: number | null;
  fwt: number | null;
  forgetting: number | null;
}

// Each metric reads only the cells its definition needs (docs/architecture.md §6), so it has the
// same value on a sparse matrix (cells skipped by the spec's evaluation policy are null) as on
// the full one, except forgetting, whose maximum runs over the cells that were evaluated.

/** ACC = (1/T) sum_j R[T-1][j]: mean accuracy over all tasks after the last one. */
export function averageAccuracy(R: AccuracyMatrix): number {
  validateMatrix(R);
  const T = R.length;
  return mean(range(T).map((j) => evaluatedCell(R, T - 1, j, 'ACC')));
}

/** BWT = (1/(T-1)) sum_{j<T-1} (R[T-1][j] - R[j][j]); negative means later tasks hurt earlier ones. */
export function backwardTransfer(R: AccuracyMatrix): number | null {
  validateMatrix(R);
  const T = R.length;
  if (T === 1) return null;
  return mean(range(T - 1).map((j) => evaluatedCell(R, T - 1, j, 'BWT') - evaluatedCell(R, j, j, 'BWT')));
}

/** FWT = (1/(T-1)) sum_{j>0} (R[j-1][j] - b[j]); how much earlier tasks help a task before it is trained. */
export function forwardTransfer(R: AccuracyMatrix, initial: number[]): number | null {
  validateMatrix(R);
  const T = R.length;
  validateInitial(initial, T);
  if (T === 1) return null;
  return mean(range(T - 1).map((k) => evaluatedCell(R, k, k + 1, 'FWT') - initial[k + 1]));
}

/**
 * Chaudhry forgetting: f_j = max_{l<T-1} R[l][j] - R[T-1][j], averaged over j < T-1. On a sparse
 * matrix the maximum runs over the rows l < T-1 where task j was evaluated (always including
 * l = j), so it can only be lower than on the full matrix: a lower bound.
 */
export function forgetting(R: AccuracyMatrix): number | null {
  validateMatrix(R);
  const T = R.length;
  if (T === 1) return null;
  return mean(range(T - 1).map((j) => Math.max(...evaluatedBefore(R, j, T - 1)) - evaluatedCell(R, T - 1, j, 'forgetting')));
}

/** Task j's evaluated accuracies after tasks 0..end-1; throws if there is none (R[j][j] is always evaluated). */
function evaluatedBefore(R: AccuracyMatrix, j: number, end: number): number[] {
  const values = range(end)
    .map((l) => R[l][j])
    .filter((v): v is number => v !== null);
  // None evaluated means R[j][j] was not either: evaluatedCell throws, naming it.
  if (values.length === 0) evaluatedCell(R, j, j, 'forgetting');
  return values;
}

export function summarize(R: AccuracyMatrix, initial: number[]): CLMetrics {
  return {
    acc: averageAccuracy(R),
    bwt: backwardTransfer(R),
    fwt: forwardTransfer(R, initial),
    forgetting: forgetting(R),
  };
}

/** Per cell fp32 minus quantized: positive means quantization lost accuracy on that task at that point; null where either was not evaluated. */
export function quantizationGap(fp32: AccuracyMatrix, quantized: AccuracyMatrix): AccuracyMatrix {
  validateMatrix(fp32, 'fp32 accuracy matrix');
  validateMatrix(quantized, 'quantized accuracy matrix');
  if (fp32.length !== quantized.length) {
    throw new Error(
      `quantization gap needs matrices over the same tasks: fp32 is ${fp32.length} x ${fp32.length}, quantized is ${quantized.length} x ${quantized.length}`,
    );
  }
  return fp32.map((row, i) =>
    row.map((v, j) => {
      const q = quantized[i][j];
      return v === null || q === null ? null : v - q;
    }),
  );
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
