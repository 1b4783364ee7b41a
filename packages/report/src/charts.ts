import type { AccuracyMatrix } from '@retain/metrics';
import type { VegaLiteSpec } from './vega';

// The report's plots as Vega-Lite specifications: pure functions from numbers to specs. Each layer
// is named (`cell`, `line`, `errorbar`, ...): Vega puts the name on the SVG group of its marks
// (`<g class="mark-rect role-mark cell_marks">`), which is how tests and readers find them.

/** Above this many tasks a matrix has too many cells to draw (T² rects per model); the tables still say it all. */
export const MAX_PLOTTED_TASKS = 100;
/** Up to this many tasks each heatmap cell carries its value as text. */
export const MAX_ANNOTATED_TASKS = 16;
/** Up to this many tasks the task curves get one categorical color each, with a legend; beyond, a color ramp. */
export const MAX_LEGEND_TASKS = 20;

/** The names of the marks each plot draws, as they appear in the SVG (`<name>_marks`). */
export const MARKS = {
  cell: 'cell_marks',
  cellLabel: 'cell_label_marks',
  line: 'line_marks',
  point: 'point_marks',
  mean: 'mean_marks',
  errorbar: 'errorbar_marks',
} as const;

/** What a not-evaluated cell says (as the CLI's `·`). */
export const NOT_EVALUATED_LABEL = '·';
const NOT_EVALUATED_FILL = '#e6e8eb';

/** Labels for the tasks' axis: their names, or `i name` when names repeat (so each cell has its own column). */
export function taskLabels(tasks: string[]): string[] {
  return new Set(tasks).size === tasks.length ? tasks : tasks.map((t, i) => `${i} ${t}`);
}

/** `after 0`, `after 1`, ...: the rows of a matrix (after training task i). */
export function afterLabels(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `after ${i}`);
}

/** A model's matrix in a heatmap: `model` names its panel (fp32, a quantizer id). */
export interface MatrixPanel {
  model: string;
  matrix: AccuracyMatrix;
}

/** How a heatmap colors and labels its values: accuracy by default, perplexity for the perplexity evaluator's matrices. */
export interface HeatmapScale {
  /** What the values are (the legend's title; the x axis reads `<title> on task`). */
  title: string;
  /** The color scale's range of values. */
  domain: [number, number];
  /** Logarithmic color scale (perplexity spans orders of magnitude). */
  log?: boolean;
  /** Lower is better: the low end is dark, as high accuracy is. */
  lowerIsBetter?: boolean;
  /** Decimals of each cell's label. */
  digits: number;
}

/** Accuracy on one shared 0..1 scale, dark = high. */
export const ACCURACY_SCALE: HeatmapScale = { title: 'accuracy', domain: [0, 1], digits: 2 };

/** Perplexity over the matrices' own range, on a log scale, dark = low (lower is better). */
export function perplexityScale(panels: MatrixPanel[]): HeatmapScale {
  const values = panels.flatMap((p) => p.matrix.flat()).filter((v): v is number => v !== null);
  const lo = values.length ? Math.min(...values) : 1;
  const hi = values.length ? Math.max(...values) : 2;
  return { title: 'perplexity', domain: [lo, hi > lo ? hi : lo + 1], log: true, lowerIsBetter: true, digits: 1 };
}

/** exp of each cell: a loss matrix (nats) as a perplexity matrix; null cells stay null. */
export function perplexityOf(loss: AccuracyMatrix): AccuracyMatrix {
  return loss.map((row) => row.map((v) => (v === null ? null : Math.exp(v))));
}

/** Heatmaps of matrices side by side, one panel per model, on one shared color scale (0..1 accuracy unless `scale` says otherwise). */
export function heatmapSpec(panels: MatrixPanel[], tasks: string[], scale: HeatmapScale = ACCURACY_SCALE): VegaLiteSpec {
  const names = taskLabels(tasks);
  const after = afterLabels(tasks.length);
  const annotate = tasks.length <= MAX_ANNOTATED_TASKS;
  const step = tasks.length <= 6 ? 46 : tasks.length <= MAX_ANNOTATED_TASKS ? 30 : Math.max(3, Math.floor(480 / tasks.length));
  const values = panels.flatMap(({ model, matrix }) =>
    matrix.flatMap((row, i) =>
      row.map((value, j) => ({
        model,
        after: after[i],
        task: names[j],
        value,
        label: value === null ? NOT_EVALUATED_LABEL : value.toFixed(scale.digits),
      })),
    ),
  );
  // Labels turn white on the dark part of the scale: its top 40% (its bottom 40% when lower is better).
  const [lo, hi] = scale.domain;
  const at = (share: number) => (scale.log ? Math.exp(Math.log(lo) + share * (Math.log(hi) - Math.log(lo))) : lo + share * (hi - lo));
  const dark = scale.lowerIsBetter ? `datum.value < ${at(0.4)}` : `datum.value > ${at(0.6)}`;
  return {
    data: { values },
    facet: {
      column: panelColumn(
        'model',
        panels.map((p) => p.model),
      ),
    },
    spacing: 24,
    spec: {
      width: { step },
      height: { step },
      encoding: {
        x: { field: 'task', type: 'ordinal', sort: names, title: `${scale.title} on task`, axis: { labelAngle: -40, labelLimit: 120 } },
        y: { field: 'after', type: 'ordinal', sort: after, title: 'after training task' },
      },
      layer: [
        {
          name: 'cell',
          // `show`: a null cell stays a rect (filled grey below) instead of being dropped.
          mark: { type: 'rect', invalid: 'show', stroke: 'white', strokeWidth: step > 10 ? 1 : 0 },
          encoding: {
            color: {
              condition: { test: 'datum.value === null', value: NOT_EVALUATED_FILL },
              field: 'value',
              type: 'quantitative',
              title: scale.title,
              scale: {
                domain: scale.domain,
                scheme: 'blues',
                ...(scale.log ? { type: 'log' } : {}),
                ...(scale.lowerIsBetter ? { reverse: true } : {}),
              },
            },
          },
        },
        ...(annotate
          ? [
              {
                name: 'cell_label',
                mark: { type: 'text' as const, fontSize: step > 40 ? 12 : 10 },
                encoding: {
                  text: { field: 'label' },
                  color: { condition: { test: `datum.value !== null && ${dark}`, value: 'white' }, value: '#1b1f24' },
                },
              },
            ]
          : []),
      ],
    },
  } as VegaLiteSpec;
}

/** Accuracy of every task after each training task, one line per task, one panel per model; null cells are left out. */
export function taskCurvesSpec(panels: MatrixPanel[], tasks: string[]): VegaLiteSpec {
  const names = taskLabels(tasks);
  const after = afterLabels(tasks.length);
  const values = panels.flatMap(({ model, matrix }) =>
    matrix.flatMap((row, i) =>
      row.flatMap((value, j) => (value === null ? [] : [{ model, after: after[i], task: names[j], taskIndex: j, value }])),
    ),
  );
  const categorical = tasks.length <= MAX_LEGEND_TASKS;
  const color = categorical
    ? { field: 'task', type: 'nominal', sort: names, title: 'task', scale: { scheme: tasks.length <= 10 ? 'category10' : 'tableau20' } }
    : { field: 'taskIndex', type: 'quantitative', title: 'task index', scale: { scheme: 'viridis' } };
  return {
    data: { values },
    facet: {
      column: panelColumn(
        'model',
        panels.map((p) => p.model),
      ),
    },
    spacing: 24,
    spec: {
      width: Math.max(160, Math.min(360, 48 * tasks.length)),
      height: 200,
      encoding: {
        x: { field: 'after', type: 'ordinal', sort: after, title: 'after training task', axis: { labelAngle: 0 } },
        y: { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
        color,
        detail: { field: 'task', type: 'nominal' },
      },
      layer: [
        { name: 'line', mark: { type: 'line', strokeWidth: 2 } },
        ...(tasks.length <= MAX_ANNOTATED_TASKS ? [{ name: 'point', mark: { type: 'point' as const, filled: true, size: 30 } }] : []),
      ],
    },
  } as VegaLiteSpec;
}

/** One bar of a metric over seeds: a group's mean in one panel (a model or quantizer), with ± 1 std. */
export interface StatBar {
  panel: string;
  group: string;
  mean: number;
  std: number;
  n: number;
}

/**
 * A metric per group as bars (mean over seeds) with error bars (mean ± sample std), one panel per
 * model or quantizer, groups in the given order.
 */
export function errorBarSpec(bars: StatBar[], options: { panels: string[]; groups: string[]; title: string }): VegaLiteSpec {
  const values = bars.map((b) => ({ ...b, lo: b.mean - b.std, hi: b.mean + b.std }));
  return {
    data: { values },
    facet: { column: panelColumn('panel', options.panels) },
    spacing: 20,
    spec: {
      width: { step: Math.max(18, Math.min(40, Math.floor(240 / Math.max(1, options.groups.length)))) },
      height: 170,
      encoding: {
        x: { field: 'group', type: 'nominal', sort: options.groups, title: null, axis: { labelAngle: -35, labelLimit: 200 } },
      },
      layer: [
        {
          name: 'mean',
          mark: { type: 'bar', opacity: 0.85 },
          encoding: {
            y: { field: 'mean', type: 'quantitative', title: options.title },
            color: { field: 'group', type: 'nominal', sort: options.groups, legend: null, scale: { scheme: 'tableau10' } },
          },
        },
        {
          name: 'errorbar',
          mark: { type: 'rule', strokeWidth: 1.5, color: '#1b1f24' },
          encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
      ],
    },
  } as VegaLiteSpec;
}

/** The cell-wise mean of matrices of one shape (a group's seeds); a cell no matrix evaluated stays null. */
export function seedMeanMatrix(matrices: AccuracyMatrix[]): AccuracyMatrix {
  const [first] = matrices;
  if (!first) return [];
  return first.map((row, i) =>
    row.map((_, j) => {
      const values = matrices.map((m) => m[i]?.[j]).filter((v): v is number => typeof v === 'number');
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    }),
  );
}

/** One panel per value of `field` (a model, a metric), side by side in the given order, each headed by its value in bold. */
function panelColumn(field: string, order: string[]) {
  return { field, type: 'nominal', sort: order, title: null, header: { labelFontWeight: 'bold' } } as const;
}
