import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Writes a bench's report to .bench/<name>.json at the workspace root and returns the path. */
export function writeBenchReport(name: string, report: unknown): string {
  const dir = resolve(__dirname, '../../../.bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Milliseconds since the epoch of a Temporal history event's time (NaN when absent). */
export const eventMillis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6 : NaN;
