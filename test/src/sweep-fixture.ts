import { summarizeGroups, sweepRunSummary, type ExperimentResult, type SweepCellOutcome, type SweepResult } from '@retain/sdk';

/** A cell of a hand-made sweep: a finished run's results, or a failure with its error. */
export type FixtureCell = { group: string; result: ExperimentResult } | { group: string; seed: number; error: string };

/**
 * A SweepResult (sweep.json) from real runs' results, aggregated as the sweep workflow does it
 * (sweepRunSummary + summarizeGroups), for tests of what reads sweeps while no sweep workflow runs
 * them. `group` is the cell's override, e.g. `method=ewc`.
 */
export function sweepFromRuns(sweepId: string, cells: FixtureCell[]): SweepResult {
  const outcomes: SweepCellOutcome[] = cells.map((cell, index) => {
    const [path, value] = cell.group.split('=');
    const common = { index, group: cell.group, overrides: { [path]: value } };
    return 'result' in cell
      ? { ...common, runId: cell.result.runId, seed: cell.result.spec.seed, status: 'completed', resultRef: `sha256:${'0'.repeat(64)}` }
      : { ...common, runId: `${sweepId}-c${String(index).padStart(2, '0')}`, seed: cell.seed, status: 'failed', error: cell.error };
  });
  const results = cells.flatMap((c) => ('result' in c ? [c.result] : []));
  const runs = Object.fromEntries(results.map((r) => [r.runId, sweepRunSummary(r)]));
  const grid: Record<string, unknown[]> = {};
  for (const cell of outcomes)
    for (const [path, value] of Object.entries(cell.overrides)) grid[path] = [...new Set([...(grid[path] ?? []), value])];
  return {
    sweepId,
    spec: { ...results[0].spec, sweep: { grid, parallel: 4 } },
    cells: outcomes,
    groups: summarizeGroups(outcomes, runs),
    runs,
    startedAt: results[0].startedAt,
    finishedAt: results[results.length - 1].finishedAt,
  };
}
