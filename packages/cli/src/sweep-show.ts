import type { ArtifactStore } from '@retain/artifacts';
import type { SweepCellOutcome, SweepCellStatus, SweepGroupSummary, SweepOutcome, SweepPlan, SweepResult } from '@retain/sdk';
import type { Client } from '@temporalio/client';
import { sweepInputOf } from './sweep';
import { formatGroups } from './sweep-output';

/** `retain show <sweep>`: its status, every cell with its status, and (once finished) its groups. */
export interface SweepSummary {
  sweepId: string;
  status: string;
  cells: SweepCellOutcome[];
  /** Present once the sweep has finished. */
  groups?: SweepGroupSummary[];
}

/** Temporal's status of a cell's run, as a cell status; a run the server does not have has not started. */
const CELL_STATUS: Record<string, SweepCellStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'cancelled',
  TIMED_OUT: 'failed',
};

export async function sweepSummary(client: Client, store: ArtifactStore, sweepId: string): Promise<SweepSummary> {
  const handle = client.workflow.getHandle(sweepId);
  const status = (await handle.describe()).status.name.toLowerCase();
  if (status === 'completed') {
    const result = await store.getJson<SweepResult>(((await handle.result()) as SweepOutcome).resultRef);
    return { sweepId, status, cells: result.cells, groups: result.groups };
  }
  // Under way or stopped: the cells the sweep's latest execution started with, the rest asked of the server.
  const input = await sweepInputOf(client, sweepId);
  const plan = await store.getJson<SweepPlan>(input.planRef);
  const cells = await Promise.all(
    plan.cells.map(async ({ input: _input, ...cell }): Promise<SweepCellOutcome> => {
      const ended = input.ended?.[cell.index];
      if (ended) return { ...cell, ...ended, runId: ended.runId ?? cell.runId };
      const run = await client.workflow
        .getHandle(cell.runId)
        .describe()
        .catch(() => undefined);
      return { ...cell, status: run ? (CELL_STATUS[run.status.name] ?? 'running') : 'pending' };
    }),
  );
  return { sweepId, status, cells };
}

export function formatSweepSummary(s: SweepSummary): string {
  const count = (status: SweepCellStatus) => s.cells.filter((c) => c.status === status).length;
  const counts = (['completed', 'running', 'failed', 'cancelled', 'pending'] as const)
    .filter((st) => count(st) > 0)
    .map((st) => `${count(st)} ${st}`)
    .join(', ');
  const rows = [
    ['cell', 'run', 'group', 'seed', 'status'],
    ...s.cells.map((c) => [String(c.index), c.runId, c.group, String(c.seed), c.error ? `${c.status}: ${c.error}` : c.status]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const table = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
  const lines = [`${s.sweepId}: sweep ${s.status} · ${s.cells.length} cells: ${counts}`, '', table];
  if (s.groups) lines.push('', formatGroups({ cells: s.cells, groups: s.groups }));
  return lines.join('\n');
}
