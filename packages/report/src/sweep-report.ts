import type { SeedStat } from '@retain/metrics';
import type { SweepGroupSummary, SweepResult } from '@retain/sdk';
import {
  errorBarSpec,
  heatmapSpec,
  MAX_PLOTTED_TASKS,
  perplexityOf,
  perplexityScale,
  seedMeanMatrix,
  type MatrixPanel,
  type StatBar,
} from './charts';
import { duration, fixed, meanStd, signed, timestamp } from './format';
import { facts, figure, htmlTable, num, page, paragraph, plotRow, preformatted, type Section } from './html';
import { keysInOrder, LOSS_NOTE, variedLine } from './markdown';
import { evaluationLine, pluginLine, specYaml } from './spec-text';
import { renderSvg } from './vega';

/** The metrics plotted per group with error bars, as the sweep's groups carry them. */
export const SWEEP_METRIC_PLOTS = [
  { key: 'acc', plot: 'metric-acc', title: 'ACC' },
  { key: 'bwt', plot: 'metric-bwt', title: 'BWT' },
  { key: 'forgetting', plot: 'metric-forgetting', title: 'forgetting' },
] as const;
export const SWEEP_QUANTIZATION_PLOTS = [
  { key: 'accGap', plot: 'quantization-acc-gap', title: 'ACC gap (fp32 − quantized)' },
  { key: 'quantizationInducedForgetting', plot: 'quantization-qif', title: 'QIF' },
] as const;

/** The report of one sweep (its sweep.json), as one self-contained HTML document. */
export async function buildSweepReport(sweep: SweepResult): Promise<string> {
  const groups = sweep.groups.map((g) => g.group);
  const models = keysInOrder(sweep.groups.map((g) => g.metrics));
  const quantizers = keysInOrder(sweep.groups.map((g) => g.quantization));
  const counts = new Map<string, number>();
  for (const cell of sweep.cells) counts.set(cell.status, (counts.get(cell.status) ?? 0) + 1);
  const seeds = [...new Set(sweep.cells.map((c) => c.seed))].sort((a, b) => a - b);
  const header = facts([
    ['sweep', sweep.sweepId],
    ['spec', `${sweep.spec.name} (the base every cell overrides)`],
    ['varied', variedLine(sweep) || 'nothing but the seed'],
    ['benchmark', pluginLine(sweep.spec.benchmark)],
    ['model', pluginLine(sweep.spec.model)],
    ['method', pluginLine(sweep.spec.method)],
    ['evaluation', evaluationLine(sweep.spec)],
    ['cells', `${sweep.cells.length} (${[...counts].map(([status, n]) => `${n} ${status}`).join(', ')})`],
    ['groups', String(groups.length)],
    ['seeds', seeds.join(', ')],
    ['started', timestamp(sweep.startedAt)],
    ['finished', `${timestamp(sweep.finishedAt)} (${duration(sweep.startedAt, sweep.finishedAt)})`],
  ]);

  const metricFigures: string[] = [];
  for (const { key, plot, title } of SWEEP_METRIC_PLOTS) {
    const bars = statBars(sweep.groups, (g) => Object.entries(g.metrics).map(([model, stats]) => [model, stats[key]]));
    metricFigures.push(await barsFigure(plot, bars, models, groups, title));
  }
  const quantizationFigures: string[] = [];
  for (const { key, plot, title } of quantizers.length ? SWEEP_QUANTIZATION_PLOTS : []) {
    const bars = statBars(sweep.groups, (g) => Object.entries(g.quantization).map(([q, stats]) => [q, stats[key]]));
    quantizationFigures.push(await barsFigure(plot, bars, quantizers, groups, title));
  }
  const heatmaps: string[] = [];
  for (const [index, group] of sweep.groups.entries()) heatmaps.push(await groupHeatmap(sweep, group, index));
  const withLoss = sweep.groups.some((g) => g.lossMetrics);
  const perplexityHeatmaps: string[] = [];
  for (const [index, group] of withLoss ? sweep.groups.entries() : [])
    perplexityHeatmaps.push(await groupPerplexityHeatmap(sweep, group, index));

  const sections: Section[] = [
    {
      id: 'metrics',
      title: 'ACC, BWT and forgetting over seeds',
      html: plotRow(metricFigures),
    },
    ...(quantizers.length
      ? [{ id: 'quantization', title: 'Quantization gap and QIF over seeds', html: plotRow(quantizationFigures) }]
      : []),
    { id: 'matrices', title: 'Mean accuracy matrices (seed mean)', html: heatmaps.join('') },
    ...(withLoss
      ? [{ id: 'perplexity', title: 'Perplexity matrices (lower is better; exp of the seed-mean loss)', html: perplexityHeatmaps.join('') }]
      : []),
    {
      id: 'groups',
      title: 'Groups',
      html: groupsTables(sweep.groups, quantizers.length > 0) + (withLoss ? groupsLossTable(sweep.groups) : ''),
    },
    { id: 'cells', title: 'Cells', html: cellsTable(sweep) },
    { id: 'spec', title: 'Spec', html: preformatted('spec', specYaml(sweep.spec)) },
  ];
  return page(`Sweep ${sweep.sweepId}`, header, sections);
}

/** One bar per group and panel whose mean is defined (a metric can be null: BWT of a one-task run). */
function statBars(groups: SweepGroupSummary[], statsOf: (g: SweepGroupSummary) => Array<[string, SeedStat | undefined]>): StatBar[] {
  return groups.flatMap((g) =>
    statsOf(g).flatMap(([panel, stat]) =>
      stat && stat.mean !== null ? [{ panel, group: g.group, mean: stat.mean, std: stat.std ?? 0, n: stat.n }] : [],
    ),
  );
}

async function barsFigure(plot: string, bars: StatBar[], panels: string[], groups: string[], title: string): Promise<string> {
  if (!bars.length) return paragraph(`${title}: no group has a value.`, 'note');
  return figure(
    plot,
    await renderSvg(errorBarSpec(bars, { panels: panels.filter((p) => bars.some((b) => b.panel === p)), groups, title })),
    `${title} per group: bar = mean over the group's seeds, error bar = ± 1 sample standard deviation (n per group in the groups table).`,
  );
}

/** A group's seed-mean matrix per model (fp32 beside each quantizer), from every completed run's matrices. */
async function groupHeatmap(sweep: SweepResult, group: SweepGroupSummary, index: number): Promise<string> {
  const runs = group.runIds.map((id) => sweep.runs[id]).filter((r) => r !== undefined);
  const title = `${group.group || '(base spec)'}: `;
  if (!runs.length) return paragraph(`${title}no completed run.`, 'note');
  const tasks = runs[0].tasks;
  if (tasks.length > MAX_PLOTTED_TASKS) return paragraph(`${title}${tasks.length} tasks: too many cells to draw.`, 'note');
  const sameShape = runs.filter((r) => r.tasks.length === tasks.length);
  const panels: MatrixPanel[] = keysInOrder(sameShape.map((r) => r.matrices)).map((model) => ({
    model,
    matrix: seedMeanMatrix(sameShape.flatMap((r) => (r.matrices[model] ? [r.matrices[model]] : []))),
  }));
  return figure(
    `heatmap-group-${index}`,
    await renderSvg(heatmapSpec(panels, tasks)),
    `${title}the seed mean of R[i][j] over ${sameShape.length} run${sameShape.length === 1 ? '' : 's'} (seeds ${group.seeds.join(', ')}), ` +
      'fp32 beside each quantizer; grey cells marked · were evaluated in no run.',
  );
}

/** A group's perplexity matrix per model: exp of the cell-wise seed mean of the runs' loss matrices (the geometric mean of their perplexities). */
async function groupPerplexityHeatmap(sweep: SweepResult, group: SweepGroupSummary, index: number): Promise<string> {
  const runs = group.runIds.map((id) => sweep.runs[id]).filter((r) => r?.lossMatrices !== undefined);
  const title = `${group.group || '(base spec)'}: `;
  if (!runs.length) return paragraph(`${title}no completed run with the perplexity evaluator.`, 'note');
  const tasks = runs[0].tasks;
  if (tasks.length > MAX_PLOTTED_TASKS) return paragraph(`${title}${tasks.length} tasks: too many cells to draw.`, 'note');
  const sameShape = runs.filter((r) => r.tasks.length === tasks.length);
  const panels: MatrixPanel[] = keysInOrder(sameShape.map((r) => r.lossMatrices ?? {})).map((model) => ({
    model,
    matrix: perplexityOf(seedMeanMatrix(sameShape.flatMap((r) => (r.lossMatrices?.[model] ? [r.lossMatrices[model]] : [])))),
  }));
  return figure(
    `heatmap-perplexity-group-${index}`,
    await renderSvg(heatmapSpec(panels, tasks, perplexityScale(panels))),
    `${title}exp of the seed mean of L[i][j] over ${sameShape.length} run${sameShape.length === 1 ? '' : 's'} (seeds ${group.seeds.join(', ')}); ` +
      'lower is better (darker), log color scale; grey cells marked · were evaluated in no run.',
  );
}

function groupsLossTable(groups: SweepGroupSummary[]): string {
  return (
    htmlTable(
      'groups-loss',
      ['group', 'model', num('seeds'), num('loss'), num('perplexity'), num('BWT (loss)'), num('FWT (loss)'), num('forgetting (loss)')],
      groups.flatMap((g) =>
        Object.entries(g.lossMetrics ?? {}).map(([model, m]) => [
          g.group,
          model,
          num(String(m.loss.n)),
          num(meanStd(m.loss)),
          num(meanStd(m.perplexity, (v) => (v === null ? 'n/a' : v.toFixed(3)))),
          num(meanStd(m.bwt, signed)),
          num(meanStd(m.fwt, signed)),
          num(meanStd(m.forgetting, signed)),
        ]),
      ),
    ) + paragraph(LOSS_NOTE, 'note')
  );
}

function groupsTables(groups: SweepGroupSummary[], withQuantization: boolean): string {
  const metricRows = groups.flatMap((g) =>
    Object.entries(g.metrics).map(([model, m]) => [
      g.group,
      model,
      num(String(m.acc.n)),
      num(meanStd(m.acc)),
      num(meanStd(m.bwt, signed)),
      num(meanStd(m.fwt, signed)),
      num(meanStd(m.forgetting)),
    ]),
  );
  const metrics = htmlTable(
    'groups',
    ['group', 'model', num('seeds'), num('ACC'), num('BWT'), num('FWT'), num('forgetting')],
    metricRows.length ? metricRows : [['no completed cell', '', '', '', '', '', '']],
  );
  if (!withQuantization) return metrics + meanStdNote();
  const quantization = htmlTable(
    'groups-quantization',
    ['group', 'quantizer', num('seeds'), num('ACC gap'), num('mean gap'), num('QIF')],
    groups.flatMap((g) =>
      Object.entries(g.quantization).map(([q, s]) => [
        g.group,
        q,
        num(String(s.accGap.n)),
        num(meanStd(s.accGap, signed)),
        num(meanStd(s.meanGap, signed)),
        num(meanStd(s.quantizationInducedForgetting, signed)),
      ]),
    ),
  );
  return metrics + quantization + meanStdNote();
}

function meanStdNote(): string {
  return paragraph('mean ± sample standard deviation over the group’s completed seeds (the mean alone for one seed).', 'note');
}

function cellsTable(sweep: SweepResult): string {
  const cells = [...sweep.cells].sort((a, b) => a.index - b.index);
  const acc = (runId: string) => {
    const run = sweep.runs[runId];
    const fp32 = run?.metrics.fp32 ?? Object.values(run?.metrics ?? {})[0];
    return fp32 ? fixed(fp32.acc) : '';
  };
  return htmlTable(
    'cells',
    [num('#'), 'run', 'group', num('seed'), 'status', num('ACC (fp32)'), 'error'],
    cells.map((c) => [num(String(c.index)), c.runId, c.group, num(String(c.seed)), c.status, num(acc(c.runId)), c.error ?? '']),
    (i) => (cells[i].status === 'failed' ? 'failed' : undefined),
  );
}
