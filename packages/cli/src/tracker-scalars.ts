import type { AccuracyMatrix, CLMetrics, QuantizationMetrics } from '@retain/metrics';
import type { TaskTrainingStats } from '@retain/sdk';

// What `retain export-metrics` hands an experiment tracker: one run's numbers as scalars, each a
// (tag, step, value) with the task index as the step. Pure, so the tags and values are unit-tested;
// the writer (tensorboard.ts) only encodes them.

/** One scalar of a run: `tag` at step `step` (the task index). */
export interface Scalar {
  tag: string;
  step: number;
  value: number;
}

/** What a run's export reads: results.json, or a sweep cell's summary (which has no training stats). */
export interface RunNumbers {
  tasks: string[];
  matrices: Record<string, AccuracyMatrix>;
  metrics: Record<string, CLMetrics>;
  quantization: Record<string, QuantizationMetrics>;
  training?: TaskTrainingStats[];
  evaluations?: Record<string, Record<string, Array<Array<number | null> | null>>>;
}

/**
 * Every number of a run, as scalars:
 * - `accuracy/<model>/<task>` at step i: R[i][j] for each task j evaluated after task i (a tracker's
 *   "accuracy of each task over the sequence"); `<model>` is fp32 or a quantizer id;
 * - `<evaluator>.<result>/<model>/<task>` at step i: the other evaluators, likewise;
 * - `metrics/<model>/{acc,bwt,fwt,forgetting}` at the last step (T-1), where defined;
 * - `quantization/<quantizer>/{acc_gap,mean_gap,qif}` at the last step, where defined, and
 *   `quantization/<quantizer>/{bucket_crossing_rate,fixed_grid_crossing_rate,bytes}` at each task's step;
 * - `training/{final_loss,samples_per_sec,seconds,steps}` at each task's step, when present.
 * Cells not evaluated (null) and undefined metrics are left out, never written as 0 or NaN.
 */
export function runScalars(run: RunNumbers): Scalar[] {
  const out: Scalar[] = [];
  const push = (tag: string, step: number, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) out.push({ tag, step, value });
  };
  const names = taskLabels(run.tasks);
  const last = run.tasks.length - 1;
  for (const [model, matrix] of Object.entries(run.matrices)) {
    matrix.forEach((row, i) => row.forEach((v, j) => push(`accuracy/${model}/${names[j]}`, i, v)));
  }
  for (const [model, results] of Object.entries(run.evaluations ?? {})) {
    for (const [name, rows] of Object.entries(results)) {
      rows.forEach((row, i) => row?.forEach((v, j) => push(`${name}/${model}/${names[j]}`, i, v)));
    }
  }
  for (const [model, m] of Object.entries(run.metrics)) {
    push(`metrics/${model}/acc`, last, m.acc);
    push(`metrics/${model}/bwt`, last, m.bwt);
    push(`metrics/${model}/fwt`, last, m.fwt);
    push(`metrics/${model}/forgetting`, last, m.forgetting);
  }
  for (const [q, m] of Object.entries(run.quantization ?? {})) {
    push(`quantization/${q}/acc_gap`, last, m.accGap);
    push(`quantization/${q}/mean_gap`, last, m.meanGap);
    push(`quantization/${q}/qif`, last, m.quantizationInducedForgetting);
    m.bucketCrossingRate.forEach((v, i) => push(`quantization/${q}/bucket_crossing_rate`, i, v));
    (m.fixedGridCrossingRate ?? []).forEach((v, i) => push(`quantization/${q}/fixed_grid_crossing_rate`, i, v));
    m.bytes.forEach((v, i) => push(`quantization/${q}/bytes`, i, v));
  }
  (run.training ?? []).forEach((t, i) => {
    push('training/final_loss', i, t.finalLoss);
    push('training/samples_per_sec', i, t.samplesPerSec);
    push('training/seconds', i, t.seconds);
    push('training/steps', i, t.steps);
  });
  return out;
}

/** Task names as tag parts; `task-<j>` for all when the names are not unique (tags must be). */
function taskLabels(tasks: string[]): string[] {
  return new Set(tasks).size === tasks.length ? tasks : tasks.map((_, j) => `task-${j}`);
}
