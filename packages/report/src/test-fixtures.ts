// Test inputs from real runs: fixtures/*.results.json are the results.json of tiny runs made with
// `retain run fixtures/<name>.yaml --id fixture-<name>` (permuted Fashion-MNIST, 3 tasks, an MLP,
// int8 and int4 RTN; the ewc runs evaluate `seen-and-next`, so their R[0][2] is null; perplexity-1,
// naive with int4 only, adds the perplexity evaluator). A sweep over the first four is built the way the sweep workflow aggregates one: sweepRunSummary + summarizeGroups.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeGroups, sweepRunSummary, type ExperimentResult, type SweepCellOutcome, type SweepResult } from '@retain/sdk';

export const FIXTURE_RUNS = ['naive-1', 'naive-2', 'ewc-1', 'ewc-2'] as const;

/** A run with the perplexity evaluator: its `evaluations` and `lossMetrics` (not one of the sweep's runs). */
export const PERPLEXITY_RUN = 'perplexity-1';

export function fixtureResult(name: (typeof FIXTURE_RUNS)[number] | typeof PERPLEXITY_RUN): ExperimentResult {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', `${name}.results.json`), 'utf8')) as ExperimentResult;
}

/**
 * A sweep `method: [naive, ewc]` x seeds [1, 2, 3] from finished runs: every run given is a
 * completed cell, and `failed` adds cells that failed with an error (no results).
 */
export function sweepOf(
  results: ExperimentResult[],
  failed: Array<{ method: string; seed: number; error: string }> = [],
  sweepId = 'fixture-sweep',
): SweepResult {
  const cells: SweepCellOutcome[] = [
    ...results.map((r) => ({ method: methodOf(r), seed: r.spec.seed, runId: r.runId, status: 'completed' as const, error: undefined })),
    ...failed.map((f) => ({ ...f, runId: `${sweepId}-${f.method}-${f.seed}`, status: 'failed' as const })),
  ].map((c, index) => ({
    index,
    runId: c.runId,
    overrides: { method: c.method },
    seed: c.seed,
    group: `method=${c.method}`,
    status: c.status,
    ...(c.status === 'completed' ? { resultRef: `sha256:${'0'.repeat(64)}` } : { error: c.error }),
  }));
  const runs = Object.fromEntries(results.map((r) => [r.runId, sweepRunSummary(r)]));
  return {
    sweepId,
    spec: { ...results[0].spec, sweep: { grid: { method: ['naive', 'ewc'] }, seeds: [1, 2, 3], parallel: 4 } },
    cells,
    groups: summarizeGroups(cells, runs),
    runs,
    startedAt: results[0].startedAt,
    finishedAt: results[results.length - 1].finishedAt,
  };
}

function methodOf(result: ExperimentResult): string {
  const method = result.spec.method as unknown;
  return typeof method === 'string' ? method : (method as { name: string }).name;
}
