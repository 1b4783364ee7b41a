import { stringify } from 'yaml';
import type { SeedStat } from '@retain/metrics';
import type { ExperimentResult, ExperimentSpec, SweepResult, TaskTrainingStats } from '@retain/sdk';
import { formatResult } from './report';
import { alignTable, formatValue, leftTable } from './table';

// `retain show`: one run or sweep in full, as text. Pure: the command gathers what it needs
// (results, the run's artifacts) and these functions lay it out.

/** The spec as YAML under a heading (the form it was written in). */
export function formatSpec(spec: ExperimentSpec | (ExperimentSpec & { sweep: unknown })): string {
  return `Spec\n${stringify(spec).trimEnd()}`;
}

/** `Tasks (3): permuted-0, permuted-1, permuted-2`. */
export function formatTasks(names: string[]): string {
  return `Tasks (${names.length}): ${names.join(', ')}`;
}

/** A finished run's results, in full: spec, tasks, every matrix, the metrics tables, training per task. */
export function formatRunResults(result: ExperimentResult): string {
  return [formatSpec(result.spec), formatTasks(result.tasks), formatResult(result), formatTraining(result.training)].join('\n\n');
}

/** One row per task: steps, samples, seconds, final loss, samples/s (and the step a resumed task continued at). */
export function formatTraining(training: TaskTrainingStats[]): string {
  const resumed = training.some((t) => t.resumedAt !== undefined);
  const rows = [
    ['task', 'steps', 'samples', 'seconds', 'final loss', 'samples/s', ...(resumed ? ['resumed at'] : [])],
    ...training.map((t, i) => [
      String(i),
      String(t.steps),
      String(t.samples),
      t.seconds.toFixed(1),
      t.finalLoss.toFixed(4),
      String(Math.round(t.samplesPerSec)),
      ...(resumed ? [t.resumedAt === undefined ? '' : String(t.resumedAt)] : []),
    ]),
  ];
  return `Training per task\n${alignTable(rows)}`;
}

/**
 * A sweep in full: its cells (group, seed, status, why a cell failed), then per group the metrics
 * of every model and quantizer (and the loss metrics, with the perplexity evaluator) as mean ± std
 * over the group's seeds, then the spec.
 */
export function formatSweep(sweep: SweepResult): string {
  const counts = new Map<string, number>();
  for (const c of sweep.cells) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const tally = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const header = `sweep ${sweep.sweepId}: ${sweep.cells.length} cells (${tally}) in ${sweep.groups.length} groups · ${sweep.startedAt} to ${sweep.finishedAt}`;
  const cells = [
    ['cell', 'run', 'group', 'seed', 'status', 'error'],
    ...sweep.cells.map((c) => [String(c.index), c.runId, c.group, String(c.seed), c.status, c.error ?? '']),
  ];
  const sections = [header, `Cells\n${leftTable(cells)}`];
  for (const g of sweep.groups) {
    const models = [
      ['model', 'ACC', 'BWT', 'FWT', 'Forgetting'],
      ...Object.entries(g.metrics).map(([model, m]) => [
        model,
        formatStat(m.acc, false),
        formatStat(m.bwt, true),
        formatStat(m.fwt, true),
        formatStat(m.forgetting, false),
      ]),
    ];
    const lines = [
      `Group ${g.group} (${g.seeds.length} seed${g.seeds.length === 1 ? '' : 's'}: ${g.seeds.join(', ')})`,
      alignTable(models),
    ];
    const quantizers = Object.entries(g.quantization ?? {});
    if (quantizers.length) {
      const rows = [
        ['quantizer', 'ACC gap', 'mean gap', 'QIF'],
        ...quantizers.map(([q, m]) => [
          q,
          formatStat(m.accGap, true),
          formatStat(m.meanGap, true),
          formatStat(m.quantizationInducedForgetting, true),
        ]),
      ];
      lines.push(alignTable(rows));
    }
    const losses = Object.entries(g.lossMetrics ?? {});
    if (losses.length) {
      const rows = [
        ['model', 'loss', 'perplexity', 'BWT (loss)', 'FWT (loss)', 'Forgetting (loss)'],
        ...losses.map(([model, m]) => [
          model,
          formatStat(m.loss, false),
          formatStat(m.perplexity, false),
          formatStat(m.bwt, true),
          formatStat(m.fwt, true),
          formatStat(m.forgetting, true),
        ]),
      ];
      lines.push(`Loss (perplexity evaluator: nats, lower is better)\n${alignTable(rows)}`);
    }
    sections.push(lines.join('\n'));
  }
  sections.push(formatSpec(sweep.spec));
  return sections.join('\n\n');
}

/** `0.8123 ± 0.0100` over two or more seeds, `0.8123` over one, `n/a` over none. */
export function formatStat(s: SeedStat, signed: boolean): string {
  const mean = formatValue(s.mean, signed);
  return s.n >= 2 && s.std !== null ? `${mean} ± ${s.std.toFixed(4)}` : mean;
}
