/**
 * A plain text table as @retain/metrics prints its own (format.ts): the first `labels` columns
 * left-aligned (labels), the rest right-aligned (numbers), two spaces between columns, no trailing blanks.
 */
export function alignTable(rows: string[][], labels = 1): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < labels ? (cell ?? '').padEnd(widths[c]) : (cell ?? '').padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A metric value as the metrics tables print it: 4 decimals, a sign where `signed`, `n/a` for null, never "-0.0000". */
export function formatValue(v: number | null, signed = false): string {
  if (v === null) return 'n/a';
  const s = v.toFixed(4);
  if (!signed) return Number(s) === 0 ? '0.0000' : s;
  return Number(s) === 0 ? ' 0.0000' : v > 0 ? `+${s}` : s;
}

/** A table of names and words (listings): every column left-aligned, as `retain ls` prints. */
export function leftTable(rows: string[][]): string {
  return alignTable(rows, rows[0].length);
}
