import type { SweepProgress } from '@retain/sdk';
import { formatDuration } from './progress';

/** `cells 5/24 · 2 running · 1 failed · 16 pending · elapsed 1m10s · ETA 4m02s`. */
export function formatSweepProgress(p: SweepProgress, now = Date.now()): string {
  const done = p.completed + p.failed + p.cancelled;
  const elapsed = (now - Date.parse(p.startedAt)) / 1000;
  // This sweep's own work: a resumed sweep's carried cells took no time here.
  const fraction = (done - p.endedAtStart) / Math.max(1, p.cells - p.endedAtStart);
  const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : undefined;
  const parts = [`cells ${done}/${p.cells}`, `${p.running} running`];
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.cancelled) parts.push(`${p.cancelled} cancelled`);
  parts.push(`${p.pending} pending`);
  if (p.paused) parts.push('paused');
  if (p.phase === 'finishing') parts.push('aggregating');
  parts.push(`elapsed ${formatDuration(elapsed)}`, `ETA ${eta === undefined ? '…' : formatDuration(eta)}`);
  return parts.join(' · ');
}
