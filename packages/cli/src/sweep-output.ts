import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { SeedStat } from '@retain/metrics';
import type { SweepResult } from '@retain/sdk';

/** What a finished sweep prints and writes: the groups table, sweep.json and sweep.csv. */

const METRICS = ['acc', 'bwt', 'fwt', 'forgetting'] as const;
const HEADINGS: Record<(typeof METRICS)[number], string> = { acc: 'ACC', bwt: 'BWT', fwt: 'FWT', forgetting: 'forgetting' };
const LOSS_METRICS = ['loss', 'perplexity', 'bwt', 'fwt', 'forgetting'] as const;
const LOSS_HEADINGS: Record<(typeof LOSS_METRICS)[number], string> = {
  loss: 'loss',
  perplexity: 'perplexity',
  bwt: 'BWT (loss)',
  fwt: 'FWT (loss)',
  forgetting: 'forgetting (loss)',
};
/** sweep.csv's column of each loss metric, after `<model>.` (`loss_bwt`: BWT on the loss, not accuracy's `bwt`). */
const LOSS_COLUMNS: Record<(typeof LOSS_METRICS)[number], string> = {
  loss: 'loss',
  perplexity: 'perplexity',
  bwt: 'loss_bwt',
  fwt: 'loss_fwt',
  forgetting: 'loss_forgetting',
};

/** `0.812 ± 0.013`, `0.812` for one seed, `n/a` for none. */
function stat(s: SeedStat | undefined): string {
  if (!s || s.mean === null) return 'n/a';
  return s.n > 1 && s.std !== null ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}` : s.mean.toFixed(3);
}

/** One row per group and model (fp32, then each quantizer): seeds done and mean ± std of each metric. */
export function formatGroups(result: Pick<SweepResult, 'cells' | 'groups'>): string {
  const rows = [['group', 'model', 'seeds', ...METRICS.map((m) => HEADINGS[m])]];
  for (const g of result.groups) {
    const total = result.cells.filter((c) => c.group === g.group).length;
    const models = Object.keys(g.metrics);
    if (!models.length) rows.push([g.group, '-', `0/${total}`, ...METRICS.map(() => 'n/a')]);
    for (const model of models) rows.push([g.group, model, `${g.seeds.length}/${total}`, ...METRICS.map((m) => stat(g.metrics[model][m]))]);
  }
  const table = groupTable(rows);
  if (!result.groups.some((g) => g.lossMetrics)) return table;
  // The perplexity evaluator's loss metrics (lower is better), for the groups whose runs have them.
  const loss = [['group', 'model', 'seeds', ...LOSS_METRICS.map((m) => LOSS_HEADINGS[m])]];
  for (const g of result.groups) {
    const total = result.cells.filter((c) => c.group === g.group).length;
    for (const [model, m] of Object.entries(g.lossMetrics ?? {}))
      loss.push([g.group, model, `${g.seeds.length}/${total}`, ...LOSS_METRICS.map((k) => stat(m[k]))]);
  }
  return `${table}\n\nLoss (perplexity evaluator: nats, lower is better)\n${groupTable(loss)}`;
}

function groupTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

/** The cells that did not complete, one line each with the reason. */
export function formatUnfinished(result: SweepResult): string[] {
  return result.cells
    .filter((c) => c.status !== 'completed')
    .map((c) => `cell ${c.index} (${c.group}, seed ${c.seed}) ${c.status}: ${c.runId}${c.error ? `: ${c.error}` : ''}`);
}

/**
 * sweep.csv: one row per cell (index, run id, group, each override path, seed, status, error),
 * then ACC, BWT, FWT and forgetting of each model the runs have, as `<model>.<metric>`, and, when
 * runs have the perplexity evaluator's loss metrics, `<model>.loss`, `.perplexity`, `.loss_bwt`,
 * `.loss_fwt`, `.loss_forgetting` (no such columns otherwise, so other sweeps' files stay as they were).
 */
export function sweepCsv(result: SweepResult): string {
  const paths = [...new Set(result.cells.flatMap((c) => Object.keys(c.overrides)))];
  const models = [...new Set(Object.values(result.runs).flatMap((r) => Object.keys(r.metrics)))];
  const lossModels = [...new Set(Object.values(result.runs).flatMap((r) => Object.keys(r.lossMetrics ?? {})))];
  const header = [
    'index',
    'run_id',
    'group',
    ...paths,
    'seed',
    'status',
    'error',
    ...models.flatMap((m) => METRICS.map((k) => `${m}.${k}`)),
    ...lossModels.flatMap((m) => LOSS_METRICS.map((k) => `${m}.${LOSS_COLUMNS[k]}`)),
  ];
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : v);
  const rows = result.cells.map((c) => {
    const run = c.status === 'completed' ? result.runs[c.runId] : undefined;
    return [
      c.index,
      c.runId,
      c.group,
      ...paths.map((p) => cell(c.overrides[p])),
      c.seed,
      c.status,
      c.error ?? '',
      ...models.flatMap((m) => METRICS.map((k) => cell(run?.metrics[m]?.[k]))),
      ...lossModels.flatMap((m) => LOSS_METRICS.map((k) => cell(run?.lossMetrics?.[m]?.[k]))),
    ];
  });
  return stringify([header, ...rows]);
}

/** Writes sweep.json and sweep.csv into `dir`; returns their paths. */
export function writeSweepOutputs(dir: string, result: SweepResult): { json: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'sweep.json');
  const csv = join(dir, 'sweep.csv');
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(csv, sweepCsv(result));
  return { json, csv };
}
