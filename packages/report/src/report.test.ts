import type { ExperimentResult } from '@retain/sdk';
import { meanCrossingRate } from '@retain/metrics';
import { buildReport, buildRunReport, buildSweepReport, MARKS, seedMeanMatrix } from './index';
import { FIXTURE_RUNS, fixtureResult, PERPLEXITY_RUN, sweepOf } from './test-fixtures';

/** The SVG of each figure, by its data-plot name. */
function plots(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of html.matchAll(/<figure class="plot" data-plot="([^"]+)">(<svg[\s\S]*?<\/svg>)/g)) found.set(m[1], m[2]);
  return found;
}

/** Items in each SVG group of the named mark (`<g class="mark-rect role-mark cell_marks">`): paths, texts or lines. */
function markGroups(svg: string, name: string): number[] {
  const counts: number[] = [];
  const open = new RegExp(`<g class="mark-\\w+ role-mark ${name}"[^>]*>`, 'g');
  for (const m of svg.matchAll(open)) {
    // Mark items (rect, text, line, symbol) hold no <g>: the group ends at the first </g>.
    const body = svg.slice(m.index + m[0].length, svg.indexOf('</g>', m.index));
    counts.push((body.match(/<(path|text|line)\b/g) ?? []).length);
  }
  return counts;
}
const marks = (svg: string | undefined, name: string) => markGroups(svg ?? '', name).reduce((a, b) => a + b, 0);

/** Texts of a table's body rows, by data-table name. */
function tableRows(html: string, name: string): string[][] {
  const table = html.match(new RegExp(`<table data-table="${name}">[\\s\\S]*?</table>`))?.[0] ?? '';
  const body = table.slice(table.indexOf('<tbody>'));
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]));
}

const nulls = (result: ExperimentResult) => Object.values(result.matrices).flatMap((m) => m.flat().filter((v) => v === null)).length;

describe('run report', () => {
  const result = fixtureResult('ewc-1'); // evaluation seen-and-next: R[0][2] is null in every matrix
  let html: string;
  beforeAll(async () => {
    html = await buildRunReport(result);
  });
  const T = result.tasks.length;
  const models = Object.keys(result.matrices);

  it('draws a heatmap per model, fp32 first, T x T cells each, annotated, null cells marked not evaluated', () => {
    const svg = plots(html).get('heatmap');
    expect(models).toEqual(['fp32', 'rtn-int8', 'rtn-int4']);
    expect(markGroups(svg ?? '', MARKS.cell)).toEqual(models.map(() => T * T));
    expect(marks(svg, MARKS.cellLabel)).toBe(models.length * T * T);
    expect(nulls(result)).toBe(models.length);
    expect(svg?.match(/>·<\/text>/g)).toHaveLength(nulls(result));
    // The first panel is fp32's: its first label is R[0][0] to 2 decimals.
    const labels = [...(svg ?? '').matchAll(/aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels[0]).toBe(result.matrices.fp32[0][0]?.toFixed(2));
  });

  it('draws one line per task and model, with a point per evaluated cell', () => {
    const svg = plots(html).get('task-curves');
    expect(markGroups(svg ?? '', MARKS.line)).toEqual(Array(models.length * T).fill(1));
    expect(marks(svg, MARKS.point)).toBe(models.length * T * T - nulls(result));
  });

  it('has the metric, quantization and training tables and the spec as YAML', () => {
    expect(tableRows(html, 'metrics').map((r) => r[0])).toEqual(models);
    expect(tableRows(html, 'metrics')[0][1]).toBe(result.metrics.fp32.acc.toFixed(4));
    expect(tableRows(html, 'quantization').map((r) => r[0])).toEqual(['rtn-int8', 'rtn-int4']);
    const fixedGrid = Object.values(result.quantization).map((q) => meanCrossingRate(q.fixedGridCrossingRate ?? [])?.toFixed(4));
    expect(fixedGrid.every((v) => v !== undefined)).toBe(true);
    expect(tableRows(html, 'quantization').map((r) => r[5])).toEqual(fixedGrid);
    expect(tableRows(html, 'training')).toHaveLength(T);
    expect(html).toMatch(/<pre data-block="spec">[\s\S]*evaluation:\n {2}tasks: seen-and-next/);
  });

  it("shows each quantizer's mean fixed-grid crossing rate beside the crossing rate on each task's own grid", async () => {
    const q = result.quantization['rtn-int8'];
    const withFixed = {
      ...result,
      quantization: { ...result.quantization, 'rtn-int8': { ...q, fixedGridCrossingRate: [null, 0.01, 0.03] } },
    };
    const row = tableRows(await buildRunReport(withFixed), 'quantization')[0];
    expect(row[5]).toBe('0.0200');
    const rates = q.bucketCrossingRate.filter((r): r is number => r !== null);
    expect(row[4]).toBe((rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(4));
  });

  it('is self-contained: no script, no external reference', () => {
    // url(#...) is an in-document reference (the legend's gradient); anything else would need the network.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i);
    expect(html.match(/(?:src|href)="[^"#]/g)).toBeNull();
  });

  it('escapes what it interpolates: task names, spec names, ids', async () => {
    const evil = '<img src=x onerror="alert(1)">&';
    const tampered: ExperimentResult = {
      ...result,
      runId: `run-${evil}`,
      spec: { ...result.spec, name: `<script>alert(1)</script>` },
      tasks: result.tasks.map((t, i) => (i === 0 ? evil : t)),
    };
    const out = await buildRunReport(tampered);
    expect(out).not.toMatch(/<script>|<img /);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;');
  });
});

describe('run report of many tasks', () => {
  /** A fixture's result stretched to T tasks with a sparse matrix (a diagonal band, as `seen-and-next` leaves). */
  function stretched(T: number): ExperimentResult {
    const base = fixtureResult('naive-1');
    const matrix = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i + 1 ? 0.5 + ((i + j) % 5) / 10 : null)));
    const tasks = Array.from({ length: T }, (_, i) => `task-${i}`);
    return { ...base, tasks, matrices: { fp32: matrix, 'rtn-int8': matrix }, training: [] };
  }

  it('draws T x T cells without annotations and a line per task past the legend limit', async () => {
    const T = 25;
    const html = await buildRunReport(stretched(T));
    const heatmap = plots(html).get('heatmap');
    expect(markGroups(heatmap ?? '', MARKS.cell)).toEqual([T * T, T * T]);
    expect(marks(heatmap, MARKS.cellLabel)).toBe(0);
    expect(markGroups(plots(html).get('task-curves') ?? '', MARKS.line)).toEqual(Array(2 * T).fill(1));
  });

  it('says a matrix of over 100 tasks is too many cells to draw, and keeps the tables', async () => {
    const html = await buildRunReport(stretched(101));
    expect(plots(html).size).toBe(0);
    expect(html).toContain('101 tasks: too many cells to draw');
    expect(tableRows(html, 'metrics').map((r) => r[0])).toEqual(['fp32', 'rtn-int8', 'rtn-int4']);
  });
});

describe('sweep report', () => {
  const results = FIXTURE_RUNS.map(fixtureResult);
  const sweep = sweepOf(results, [{ method: 'ewc', seed: 3, error: 'trainTask: <oom> & "retries exhausted"' }]);
  let html: string;
  beforeAll(async () => {
    html = await buildReport({ kind: 'sweep', result: sweep });
  });
  const groups = sweep.groups.map((g) => g.group);
  const models = ['fp32', 'rtn-int8', 'rtn-int4'];
  const T = results[0].tasks.length;

  it('plots ACC, BWT and forgetting per group with error bars over seeds, one panel per model', () => {
    expect(groups).toEqual(['method=naive', 'method=ewc']);
    for (const plot of ['metric-acc', 'metric-bwt', 'metric-forgetting']) {
      const svg = plots(html).get(plot);
      expect({ plot, panels: markGroups(svg ?? '', MARKS.mean) }).toEqual({ plot, panels: models.map(() => groups.length) });
      expect({ plot, errorbars: marks(svg, MARKS.errorbar) }).toEqual({ plot, errorbars: models.length * groups.length });
    }
  });

  it('an error bar spans mean ± sample std over the seeds', () => {
    const acc = sweep.groups[0].metrics.fp32.acc;
    expect(acc.n).toBe(2);
    const [a, b] = acc.values as number[];
    const std = Math.abs(a - b) / Math.SQRT2; // sample std of two values
    expect(acc.std).toBeCloseTo(std, 12);
    const svg = plots(html).get('metric-acc') ?? '';
    // The first rule is fp32's first group: its aria-label carries lo and hi.
    const rule = svg.slice(svg.indexOf(MARKS.errorbar)).match(/aria-label="([^"]*)"/)?.[1] ?? '';
    const numbers = (rule.match(/-?\d+\.\d+/g) ?? []).map(Number);
    expect(numbers).toEqual(expect.arrayContaining([expect.closeTo(acc.mean! - std, 6), expect.closeTo(acc.mean! + std, 6)]));
  });

  it('plots the quantization gap and QIF per quantizer per group with error bars', () => {
    for (const plot of ['quantization-acc-gap', 'quantization-qif']) {
      const svg = plots(html).get(plot);
      expect({ plot, panels: markGroups(svg ?? '', MARKS.mean) }).toEqual({ plot, panels: [groups.length, groups.length] });
      expect({ plot, errorbars: marks(svg, MARKS.errorbar) }).toEqual({ plot, errorbars: 2 * groups.length });
    }
  });

  it("draws each group's seed-mean matrix, fp32 beside the quantizers", () => {
    for (const [i, group] of sweep.groups.entries()) {
      const svg = plots(html).get(`heatmap-group-${i}`) ?? '';
      expect(markGroups(svg, MARKS.cell)).toEqual(models.map(() => T * T));
      const mean = seedMeanMatrix(group.runIds.map((id) => sweep.runs[id].matrices.fp32));
      const labels = [...svg.matchAll(/aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      expect(labels.slice(0, T * T)).toEqual(mean.flat().map((v) => (v === null ? '·' : v.toFixed(2))));
    }
    // ewc evaluated seen-and-next in both seeds: R[0][2] is null in its mean too.
    expect(
      plots(html)
        .get('heatmap-group-1')
        ?.match(/>·<\/text>/g),
    ).toHaveLength(models.length);
  });

  it('lists groups (mean ± std) and cells with their status, a failed one with its error', () => {
    const groupRows = tableRows(html, 'groups');
    expect(groupRows.map((r) => `${r[0]} ${r[1]} ${r[2]}`)).toEqual(groups.flatMap((g) => models.map((m) => `${g} ${m} 2`)));
    const acc = sweep.groups[0].metrics.fp32.acc;
    expect(groupRows[0][3]).toBe(`${acc.mean!.toFixed(4)} ± ${acc.std!.toFixed(4)}`);
    expect(tableRows(html, 'groups-quantization')).toHaveLength(groups.length * 2);
    const cells = tableRows(html, 'cells');
    expect(cells.map((r) => r[4])).toEqual(['completed', 'completed', 'completed', 'completed', 'failed']);
    expect(cells[4][6]).toBe('trainTask: &lt;oom&gt; &amp; &quot;retries exhausted&quot;');
    expect(html).toContain('<tr class="failed">');
    expect(html).toMatch(/<pre data-block="spec">[\s\S]*sweep:\n {2}grid:/);
    expect(html).toContain('<dt>varied</dt><dd>method = naive | ewc</dd>');
  });

  it('a sweep with no completed cell still renders, saying so', async () => {
    const empty = { ...sweep, cells: sweep.cells.map((c) => ({ ...c, status: 'failed' as const, error: 'x' })), runs: {} };
    const out = await buildSweepReport({
      ...empty,
      groups: empty.groups.map((g) => ({ ...g, runIds: [], seeds: [], metrics: {}, quantization: {} })),
    });
    expect(plots(out).size).toBe(0);
    expect(out).toContain('no completed run');
    expect(tableRows(out, 'cells')).toHaveLength(5);
  });
});

describe('perplexity in reports (the perplexity evaluator: lower is better)', () => {
  const result = fixtureResult(PERPLEXITY_RUN);
  const T = result.tasks.length;
  const labelsOf = (svg: string) => [...svg.matchAll(/aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  const expPerCell = (L: Array<Array<number | null> | null>) => L.flatMap((row) => row!.map((v) => Math.exp(v!).toFixed(1)));

  it("a run's report draws exp of each model's perplexity.loss matrix and lists its loss metrics", async () => {
    const html = await buildRunReport(result);
    expect(html).toContain('Perplexity matrices (lower is better)');
    const svg = plots(html).get('heatmap-perplexity') ?? '';
    expect(markGroups(svg, MARKS.cell)).toEqual([T * T, T * T]);
    expect(labelsOf(svg).slice(0, T * T)).toEqual(expPerCell(result.evaluations!.fp32['perplexity.loss']));
    expect(svg).toContain('perplexity on task');
    const rows = tableRows(html, 'loss-metrics');
    expect(rows.map((r) => r[0])).toEqual(['fp32', 'rtn-int4']);
    expect(rows[0].slice(1)).toEqual([
      result.lossMetrics!.fp32.loss.toFixed(4),
      result.lossMetrics!.fp32.perplexity.toFixed(3),
      `+${result.lossMetrics!.fp32.bwt!.toFixed(4)}`,
      `+${result.lossMetrics!.fp32.fwt!.toFixed(4)}`,
      `+${result.lossMetrics!.fp32.forgetting!.toFixed(4)}`,
    ]);
  });

  it('a run without the evaluator has neither', async () => {
    const html = await buildRunReport(fixtureResult('naive-1'));
    expect(plots(html).has('heatmap-perplexity')).toBe(false);
    expect(html).not.toContain('data-table="loss-metrics"');
  });

  it("a sweep's report draws each group's exp of the seed-mean loss and its loss metrics over seeds", async () => {
    const second = { ...result, runId: 'fixture-perplexity-2', spec: { ...result.spec, seed: 2 } };
    const sweep = sweepOf([result, second]);
    const html = await buildSweepReport(sweep);
    const svg = plots(html).get('heatmap-perplexity-group-0') ?? '';
    expect(markGroups(svg, MARKS.cell)).toEqual([T * T, T * T]);
    expect(labelsOf(svg).slice(0, T * T)).toEqual(expPerCell(result.evaluations!.fp32['perplexity.loss']));
    const rows = tableRows(html, 'groups-loss');
    expect(rows.map((r) => `${r[0]} ${r[1]} ${r[2]}`)).toEqual(['method=naive fp32 2', 'method=naive rtn-int4 2']);
    expect(rows[0][3]).toBe(`${result.lossMetrics!.fp32.loss.toFixed(4)} ± 0.0000`);
    const plain = await buildSweepReport(sweepOf(FIXTURE_RUNS.map(fixtureResult)));
    expect(plain).not.toContain('data-table="groups-loss"');
    expect(plots(plain).has('heatmap-perplexity-group-0')).toBe(false);
  });
});

describe('seedMeanMatrix', () => {
  it('averages the cells evaluated, null where none was', () => {
    expect(
      seedMeanMatrix([
        [
          [0.5, null],
          [0.25, null],
        ],
        [
          [0.7, null],
          [null, null],
        ],
      ]),
    ).toEqual([
      [0.6, null],
      [0.25, null],
    ]);
  });
});
