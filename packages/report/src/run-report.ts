import { meanCrossingRate } from '@retain/metrics';
import { LOSS_EVALUATION, type ExperimentResult } from '@retain/sdk';
import { heatmapSpec, MAX_PLOTTED_TASKS, perplexityOf, perplexityScale, taskCurvesSpec, type MatrixPanel } from './charts';
import { bytes, duration, fixed, signed, timestamp } from './format';
import { facts, figure, htmlTable, num, page, paragraph, preformatted, type Section } from './html';
import { LOSS_NOTE } from './markdown';
import { evaluationLine, pluginLine, specYaml } from './spec-text';
import { renderSvg } from './vega';

/** The report of one finished run (its results.json), as one self-contained HTML document. */
export async function buildRunReport(result: ExperimentResult): Promise<string> {
  const tasks = result.tasks;
  const panels: MatrixPanel[] = Object.entries(result.matrices).map(([model, matrix]) => ({ model, matrix }));
  const header = facts([
    ['run', result.runId],
    ['spec', result.spec.name],
    ['benchmark', pluginLine(result.spec.benchmark)],
    ['model', pluginLine(result.spec.model)],
    ['method', pluginLine(result.spec.method)],
    ['quantizers', Object.keys(result.quantization ?? {}).join(', ') || 'none'],
    ['tasks', `${tasks.length} (evaluation: ${evaluationLine(result.spec)})`],
    ['seed', String(result.spec.seed)],
    ['started', timestamp(result.startedAt)],
    ['finished', `${timestamp(result.finishedAt)} (${duration(result.startedAt, result.finishedAt)})`],
    ...(result.resumedFrom ? [['resumed from', `${result.resumedFrom.runId} at task ${result.resumedFrom.task}`] as [string, string]] : []),
  ]);
  const perplexity = perplexityPanels(result);
  const sections: Section[] = [
    { id: 'matrices', title: 'Accuracy matrices', html: await matrixFigure(panels, tasks) },
    ...(perplexity.length
      ? [{ id: 'perplexity', title: 'Perplexity matrices (lower is better)', html: await perplexityFigure(perplexity, tasks) }]
      : []),
    { id: 'curves', title: 'Accuracy of each task over the sequence', html: await curvesFigure(panels, tasks) },
    { id: 'metrics', title: 'Metrics', html: metricsTables(result) },
    { id: 'training', title: 'Training', html: trainingTable(result) },
    { id: 'spec', title: 'Spec', html: preformatted('spec', specYaml(result.spec)) },
  ];
  return page(`Run ${result.runId}`, header, sections);
}

async function matrixFigure(panels: MatrixPanel[], tasks: string[]): Promise<string> {
  if (tasks.length > MAX_PLOTTED_TASKS) return tooManyTasks(tasks.length);
  return figure(
    'heatmap',
    await renderSvg(heatmapSpec(panels, tasks)),
    'R[i][j]: accuracy on task j (column) after training through task i (row), fp32 beside each quantizer. ' +
      'Grey cells marked · were not evaluated (the spec’s evaluation.tasks).',
  );
}

/** Each model's perplexity matrix, exp of its `perplexity.loss` matrix (a task that did not run the evaluator: a row not evaluated). */
export function perplexityPanels(result: ExperimentResult): MatrixPanel[] {
  return Object.entries(result.evaluations ?? {}).flatMap(([model, results]) => {
    const rows = results[LOSS_EVALUATION];
    return rows ? [{ model, matrix: perplexityOf(rows.map((row) => row ?? result.tasks.map(() => null))) }] : [];
  });
}

async function perplexityFigure(panels: MatrixPanel[], tasks: string[]): Promise<string> {
  if (tasks.length > MAX_PLOTTED_TASKS) return tooManyTasks(tasks.length);
  return figure(
    'heatmap-perplexity',
    await renderSvg(heatmapSpec(panels, tasks, perplexityScale(panels))),
    'exp L[i][j]: perplexity on task j (column) after training through task i (row), from the perplexity evaluator’s mean ' +
      'next-token cross-entropy; lower is better (darker), log color scale. Grey cells marked · were not evaluated.',
  );
}

async function curvesFigure(panels: MatrixPanel[], tasks: string[]): Promise<string> {
  if (tasks.length > MAX_PLOTTED_TASKS) return tooManyTasks(tasks.length);
  return figure(
    'task-curves',
    await renderSvg(taskCurvesSpec(panels, tasks)),
    'One line per task: its accuracy after each training task (a column of R), one panel per model; cells not evaluated are left out.',
  );
}

function tooManyTasks(count: number): string {
  return paragraph(
    `${count} tasks: too many cells to draw (over ${MAX_PLOTTED_TASKS} tasks); the tables below and results.json hold them.`,
    'note',
  );
}

function metricsTables(result: ExperimentResult): string {
  const metrics = htmlTable(
    'metrics',
    ['model', num('ACC'), num('BWT'), num('FWT'), num('forgetting')],
    Object.entries(result.metrics).map(([model, m]) => [
      model,
      num(fixed(m.acc)),
      num(signed(m.bwt)),
      num(signed(m.fwt)),
      num(fixed(m.forgetting)),
    ]),
  );
  const loss = result.lossMetrics ? lossMetricsTable(result.lossMetrics) : '';
  const quantizers = Object.entries(result.quantization ?? {});
  if (!quantizers.length) return metrics + loss;
  const quantization = htmlTable(
    'quantization',
    ['quantizer', num('ACC gap'), num('mean gap'), num('QIF'), num('crossing rate'), num('fixed-grid crossing'), num('bytes')],
    quantizers.map(([id, q]) => {
      const crossing = meanCrossingRate(q.bucketCrossingRate);
      const fixedGrid = meanCrossingRate(q.fixedGridCrossingRate ?? []);
      const last = q.bytes[q.bytes.length - 1];
      return [
        id,
        num(signed(q.accGap)),
        num(signed(q.meanGap)),
        num(signed(q.quantizationInducedForgetting)),
        num(crossing === null ? 'n/a' : fixed(crossing)),
        num(fixedGrid === null ? 'n/a' : fixed(fixedGrid)),
        { text: bytes(last), numeric: true, title: last === undefined ? undefined : `${last} bytes after the last task` },
      ];
    }),
  );
  return (
    metrics +
    loss +
    quantization +
    paragraph(
      'Gaps are fp32 minus quantized (positive: the quantized model is worse); QIF = forgetting(quantized) − forgetting(fp32); ' +
        'crossing rate: the mean share of integer codes that changed from one task to the next, each task coded on its own ' +
        'grid (scales recomputed: scale drift and weight drift together); fixed-grid crossing: the same share with every task ' +
        "coded on the first task's grid (weight drift alone); bytes: the model after the last task.",
      'note',
    )
  );
}

function lossMetricsTable(lossMetrics: NonNullable<ExperimentResult['lossMetrics']>): string {
  return (
    htmlTable(
      'loss-metrics',
      ['model', num('loss'), num('perplexity'), num('BWT (loss)'), num('FWT (loss)'), num('forgetting (loss)')],
      Object.entries(lossMetrics).map(([model, m]) => [
        model,
        num(fixed(m.loss)),
        num(m.perplexity.toFixed(3)),
        num(signed(m.bwt)),
        num(signed(m.fwt)),
        num(signed(m.forgetting)),
      ]),
    ) + paragraph(LOSS_NOTE, 'note')
  );
}

function trainingTable(result: ExperimentResult): string {
  const rows = result.training.map((t, i) => [
    String(i),
    result.tasks[i] ?? '',
    num(String(t.steps)),
    num(String(t.samples)),
    num(t.seconds.toFixed(2)),
    num(t.finalLoss.toFixed(4)),
    num(String(Math.round(t.samplesPerSec))),
    t.resumedAt === undefined ? '' : `step ${t.resumedAt}`,
  ]);
  const samples = result.training.reduce((a, t) => a + t.samples, 0);
  const seconds = result.training.reduce((a, t) => a + t.seconds, 0);
  return (
    htmlTable(
      'training',
      ['task', 'name', num('steps'), num('samples'), num('seconds'), num('final loss'), num('samples/s'), 'resumed at'],
      rows,
    ) + paragraph(`${samples} samples in ${seconds.toFixed(1)} s of training (${Math.round(samples / Math.max(seconds, 1e-9))} samples/s).`)
  );
}
