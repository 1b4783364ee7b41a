import type { SeedStat } from '@retain/metrics';

/** A value in [0, 1] or a count-free metric, 4 decimals as the CLI prints them; `n/a` for null. */
export function fixed(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : v.toFixed(4);
}

/** A signed difference (BWT, FWT, gaps, QIF): `+0.0123`, `-0.0040`, ` 0.0000` for what rounds to zero. */
export function signed(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  const s = v.toFixed(4);
  return Number(s) === 0 ? '0.0000' : v > 0 ? `+${s}` : s;
}

/** `0.6478 ± 0.0123` over seeds; the mean alone when one seed had a value, `n/a` when none did. */
export function meanStd(stat: SeedStat | undefined, format: (v: number | null) => string = fixed): string {
  if (!stat || stat.mean === null) return 'n/a';
  return stat.n > 1 && stat.std !== null ? `${format(stat.mean)} ± ${stat.std.toFixed(4)}` : format(stat.mean);
}

/** Bytes as `26.6 KB`, `1.2 MB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return 'n/a';
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `2026-12-05 10:40:12 UTC` from an ISO timestamp (the string itself if it does not parse). */
export function timestamp(iso: string | undefined): string {
  if (!iso) return 'n/a';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Seconds between two ISO timestamps, as `12.3 s` or `4 min 05 s`. */
export function duration(startIso: string | undefined, endIso: string | undefined): string {
  if (!startIso || !endIso) return 'n/a';
  const s = (Date.parse(endIso) - Date.parse(startIso)) / 1000;
  if (!Number.isFinite(s)) return 'n/a';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
}
