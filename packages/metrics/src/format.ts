import { CLMetrics } from './continual';
import { AccuracyMatrix, validateMatrix } from './matrix';

/** Text table of R: one row per evaluation point ("after task i"), one column per task. */
export function formatMatrix(title: string, R: AccuracyMatrix, taskNames: string[]): string {
  validateMatrix(R);
  if (taskNames.length !== R.length) {
    throw new Error(
      `formatMatrix "${title}": got ${taskNames.length} task names for a ${R.length} x ${R.length} matrix; pass one name per task`,
    );
  }
  const header = ['', ...taskNames];
  const body = R.map((row, i) => [`after task ${i}`, ...row.map((v) => v.toFixed(4))]);
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
