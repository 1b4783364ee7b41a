import { CLMetrics } from './continual';
import type { LossMetrics } from './loss';
import type { AccuracyMatrix } from './matrix';
import type { QuantizationMetrics } from './quantization';

/** What a matrix cell that was not evaluated prints as (the spec's evaluation policy skipped it). */
export const NOT_EVALUATED = '·';

/**
 * Text table of R: one row per evaluation point ("after task i"), one column per task; cells not
 * evaluated print as `·`. Any evaluator's matrix prints this way, so values need not be accuracies.
 */
export function formatMatrix(title: string, R: AccuracyMatrix, taskNames: string[]): string {
  if (!Array.isArray(R) || R.length === 0 || R.some((row) => !Array.isArray(row) || row.length !== R.length)) {
    throw new Error(`formatMatrix "${title}": expected a non-empty square matrix (one row and one column per task)`);
  }
  if (taskNames.length !== R.length) {
    throw new Error(
      `formatMatrix "${title}": got ${taskNames.length} task names for a ${R.length} x ${R.length} matrix; pass one name per task`,
    );
  }
  const header = ['', ...taskNames];
  const body = R.map((row, i) => [`after task ${i}`, ...row.map((v) => (v === null ? NOT_EVALUATED : v.toFixed(4)))]);
  return `${title}\n${alignTable([header, ...body])}`;
}

/** One row per model variant (fp32, int8, ...) with the CL summary columns. */
export function formatMetricsTable(rows: Record<string, CLMetrics>): string {
  const header = ['model', 'ACC', 'BWT', 'FWT', 'Forgetting'];
  const body = Object.entries(rows).map(([variant, m]) => [
    variant,
    m.acc.toFixed(4),
    signed(m.bwt),
    signed(m.fwt),
    m.forgetting === null ? 'n/a' : m.forgetting.toFixed(4),
  ]);
  return alignTable([header, ...body]);
}

/**
 * One row per model variant with the loss summary (lower is better; positive BWT and forgetting
 * mean the model forgot, negative FWT that earlier tasks helped): mean final loss in nats, exp of
 * it, BWT, FWT and forgetting on the loss.
 */
export function formatLossMetricsTable(rows: Record<string, LossMetrics>): string {
  const header = ['model', 'loss', 'perplexity', 'BWT (loss)', 'FWT (loss)', 'Forgetting (loss)'];
  const body = Object.entries(rows).map(([variant, m]) => [
    variant,
    m.loss.toFixed(4),
    m.perplexity.toFixed(3),
    signed(m.bwt),
    signed(m.fwt),
    signed(m.forgetting),
  ]);
  return alignTable([header, ...body]);
}

/**
 * One row per quantizer: ACC gap and mean gap (fp32 minus quantized), quantization-induced
 * forgetting, the mean bucket-crossing rate over tasks 1.. (each task's own grid), the same on the
 * first task's fixed grid, and the model size after the last task.
 */
export function formatQuantizationTable(rows: Record<string, QuantizationMetrics>): string {
  const header = ['quantizer', 'ACC gap', 'mean gap', 'QIF', 'crossing', 'fixed-grid crossing', 'bytes'];
  const body = Object.entries(rows).map(([variant, m]) => {
    const mean = meanCrossingRate(m.bucketCrossingRate);
    const fixed = meanCrossingRate(m.fixedGridCrossingRate ?? []);
    return [
      variant,
      signed(m.accGap),
      signed(m.meanGap),
      signed(m.quantizationInducedForgetting),
      mean === null ? 'n/a' : mean.toFixed(4),
      fixed === null ? 'n/a' : fixed.toFixed(4),
      String(m.bytes[m.bytes.length - 1] ?? 'n/a'),
    ];
  });
  return alignTable([header, ...body]);
}

/** The mean of the per-task rates that were measured (tasks 1..), or null when none was. */
export function meanCrossingRate(rates: readonly (number | null)[]): number | null {
  const measured = rates.filter((r): r is number => r !== null);
  return measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : null;
}

function signed(v: number | null): string {
  if (v === null) return 'n/a';
  // Avoid "-0.0000" for tiny negative values, which reads like a real loss.
  const s = v.toFixed(4);
  return Number(s) === 0 ? ' 0.0000' : v > 0 ? `+${s}` : s;
}

/** First column left-aligned (labels), the rest right-aligned (numbers). */
function alignTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
