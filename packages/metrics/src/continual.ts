import { AccuracyMatrix, validateInitial, validateMatrix } from './matrix';

/** The standard continual-learning summary of one accuracy matrix; transfer terms are null when T = 1. */
export interface CLMetrics {
  acc: number;
  bwt: number | null;
  fwt: number | null;
  forgetting: number | null;
}

/** ACC = (1/T) sum_j R[T-1][j]: mean accuracy over all tasks after the last one. */
export function averageAccuracy(R: AccuracyMatrix): number {
  validateMatrix(R);
  return mean(R[R.length - 1]);
}

/** BWT = (1/(T-1)) sum_{j<T-1} (R[T-1][j] - R[j][j]); negative means later tasks hurt earlier ones. */
export function backwardTransfer(R: AccuracyMatrix): number | null {
  validateMatrix(R);
  const T = R.length;
  if (T === 1) return null;
  const last = R[T - 1];
  return mean(range(T - 1).map((j) => last[j] - R[j][j]));
}

/** FWT = (1/(T-1)) sum_{j>0} (R[j-1][j] - b[j]); how much earlier tasks help a task before it is trained. */
export function forwardTransfer(R: AccuracyMatrix, initial: number[]): number | null {
  validateMatrix(R);
  const T = R.length;
  validateInitial(initial, T);
  if (T === 1) return null;
  return mean(range(T - 1).map((k) => R[k][k + 1] - initial[k + 1]));
}

/** Chaudhry forgetting: f_j = max_{l<T-1} R[l][j] - R[T-1][j], averaged over j < T-1. */
export function forgetting(R: AccuracyMatrix): number | null {
  validateMatrix(R);
  const T = R.length;
  if (T === 1) return null;
  const last = R[T - 1];
  return mean(range(T - 1).map((j) => Math.max(...range(T - 1).map((l) => R[l][j])) - last[j]));
}

export function summarize(R: AccuracyMatrix, initial: number[]): CLMetrics {
  return {
    acc: averageAccuracy(R),
    bwt: backwardTransfer(R),
    fwt: forwardTransfer(R, initial),
    forgetting: forgetting(R),
  };
}

/** Per cell fp32 minus quantized: positive means quantization lost accuracy on that task at that point. */
export function quantizationGap(fp32: AccuracyMatrix, quantized: AccuracyMatrix): AccuracyMatrix {
  validateMatrix(fp32, 'fp32 accuracy matrix');
  validateMatrix(quantized, 'quantized accuracy matrix');
  if (fp32.length !== quantized.length) {
    throw new Error(
      `quantization gap needs matrices over the same tasks: fp32 is ${fp32.length} x ${fp32.length}, quantized is ${quantized.length} x ${quantized.length}`,
    );
  }
  return fp32.map((row, i) => row.map((v, j) => v - quantized[i][j]));
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
