import { averageAccuracy, forgetting } from './continual';
import { AccuracyMatrix, validateMatrix } from './matrix';

/**
 * Quantization-induced forgetting: Chaudhry forgetting of the quantized model minus that of the
 * fp32 model. Positive: the quantized model forgets more than the model it was made from;
 * negative: quantization hides some forgetting. Null for a single task.
 */
export function quantizationInducedForgetting(fp32: AccuracyMatrix, quantized: AccuracyMatrix): number | null {
  sameTasks(fp32, quantized);
  const f = forgetting(fp32);
  const q = forgetting(quantized);
  return f === null || q === null ? null : q - f;
}

/**
 * The bucket-crossing rate: the share of weights whose quantized code differs between two
 * quantizations of the same weights (after consecutive tasks). Given each task's own codes it
 * counts a weight whose bucket moved under it (its group's scale recomputed) as much as one that
 * moved across a bucket; given codes on one fixed grid (the first task's), only the latter. Updates smaller than half a
 * quantization step vanish after rounding; a low rate next to a moving fp32 model shows it.
 * Codes are compared position by position, so both must come from the same scheme.
 */
export function bucketCrossingRate(previous: ArrayLike<number>, current: ArrayLike<number>): number {
  if (previous.length !== current.length || previous.length === 0) {
    throw new Error(
      `bucket-crossing rate needs two non-empty code arrays of the same length; got ${previous.length} and ${current.length} codes (were they quantized with the same scheme?)`,
    );
  }
  let changed = 0;
  for (let i = 0; i < current.length; i++) if (previous[i] !== current[i]) changed++;
  return changed / current.length;
}

/** What a run measured of one quantizer, beside its accuracy matrix. */
export interface QuantizationMetrics {
  /** ACC of fp32 minus ACC of the quantized model (positive: quantization costs accuracy). */
  accGap: number;
  /** Mean of fp32 minus quantized over the cells both evaluated (all T x T with the full matrix). */
  meanGap: number;
  quantizationInducedForgetting: number | null;
  /**
   * Per task, the share of codes changed since the previous task's quantization (null for task 0).
   * Each task's codes are on that task's own grid (min-max scales recomputed), so this mixes scale
   * drift with weight drift.
   */
  bucketCrossingRate: (number | null)[];
  /** Per task, bytes of the quantized ONNX model (one head). */
  bytes: number[];
  /**
   * Per task, the share of weights whose code on one fixed grid, the first task's scales and zero
   * points, changed since the previous task (null for task 0, or a task finished by Retain before
   * it kept the grid): weight drift alone. Absent in results written before Retain reported it.
   */
  fixedGridCrossingRate?: (number | null)[];
}

export function quantizationMetrics(
  fp32: AccuracyMatrix,
  quantized: AccuracyMatrix,
  perTask: { bytes: number; bucketCrossingRate?: number; fixedGridCrossingRate?: number }[],
): QuantizationMetrics {
  sameTasks(fp32, quantized);
  if (perTask.length !== quantized.length)
    throw new Error(`quantization metrics: ${perTask.length} quantized models for ${quantized.length} tasks; pass one per task`);
  const T = fp32.length;
  let gap = 0;
  let cells = 0;
  for (let i = 0; i < T; i++)
    for (let j = 0; j < T; j++) {
      const f = fp32[i][j];
      const q = quantized[i][j];
      if (f === null || q === null) continue;
      gap += f - q;
      cells++;
    }
  return {
    accGap: averageAccuracy(fp32) - averageAccuracy(quantized),
    meanGap: gap / cells,
    quantizationInducedForgetting: quantizationInducedForgetting(fp32, quantized),
    bucketCrossingRate: perTask.map((t) => t.bucketCrossingRate ?? null),
    bytes: perTask.map((t) => t.bytes),
    fixedGridCrossingRate: perTask.map((t) => t.fixedGridCrossingRate ?? null),
  };
}

function sameTasks(fp32: AccuracyMatrix, quantized: AccuracyMatrix): void {
  validateMatrix(fp32, 'fp32 accuracy matrix');
  validateMatrix(quantized, 'quantized accuracy matrix');
  if (fp32.length !== quantized.length)
    throw new Error(
      `quantization metrics need matrices over the same tasks: fp32 is ${fp32.length} x ${fp32.length}, quantized is ${quantized.length} x ${quantized.length}`,
    );
}
