import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExperimentResult } from '@retain/sdk';
import { MARKS } from '@retain/report';
import { launchChromium } from './browser';
import { retainCli } from './cli-process';
import { sweepFromRuns } from './sweep-fixture';

/** What the browser drew in one figure: SVG marks by name, and the SVG's rendered size. */
interface DrawnPlot {
  marks: Record<string, number>;
  width: number;
  height: number;
}

/**
 * `retain report` end to end: three tiny real runs (CLI), a run's report by id and a sweep's report
 * from a sweep.json built from their results, both opened in headless chromium from file:// with
 * the network unused, and the SVG marks it drew counted against the data.
 */
describe('retain report, opened in a real browser', () => {
  let dir: string;
  const env = () => ({ RETAIN_HOME: join(dir, 'state') });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-report-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A tiny run through the CLI: 3 tasks, an MLP, int8 RTN; its results.json. */
  async function tinyRun(id: string, method: string, seed: number, evaluation = 'all'): Promise<ExperimentResult> {
    const spec = join(dir, `${id}.yaml`);
    writeFileSync(
      spec,
      [
        `name: report-${method}`,
        `seed: ${seed}`,
        'benchmark: { name: permuted-fmnist, config: { tasks: 3, trainPerTask: 1000, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        'trainer: { name: supervised, config: { batchSize: 64 } }',
        `method: ${method}`,
        'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
        `evaluation: { tasks: ${evaluation} }`,
        `execution: { taskQueue: ${id} }`,
      ].join('\n'),
    );
    const out = join(dir, id);
    const { code, stderr } = await retainCli(['run', spec, '--id', id, '--out', out], env());
    expect({ id, code, stderr: code === 0 ? '' : stderr }).toEqual({ id, code: 0, stderr: '' });
    return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ExperimentResult;
  }

  it('renders a run and a sweep with every plot drawn, no console error and no request but the file', async () => {
    const pid = process.pid;
    const naive1 = await tinyRun(`report-naive-1-${pid}`, 'naive', 1);
    const naive2 = await tinyRun(`report-naive-2-${pid}`, 'naive', 2);
    const ewc1 = await tinyRun(`report-ewc-1-${pid}`, 'ewc', 1, 'seen-and-next'); // R[0][2] not evaluated

    // A run's report by its id (results from the Temporal server and the artifact store).
    const runHtml = join(dir, 'run.html');
    const byId = await retainCli(['report', ewc1.runId, '--out', runHtml], env());
    expect({ code: byId.code, stderr: byId.code === 0 ? '' : byId.stderr }).toEqual({ code: 0, stderr: '' });
    expect(byId.stderr).toMatch(`report of run ${ewc1.runId} written to ${runHtml}`);

    // A sweep's report from sweep.json: two groups, one failed cell.
    const sweep = sweepFromRuns(`report-sweep-${pid}`, [
      { group: 'method=naive', result: naive1 },
      { group: 'method=naive', result: naive2 },
      { group: 'method=ewc', result: ewc1 },
      { group: 'method=ewc', seed: 2, error: 'trainTask: out of memory <oom>' },
    ]);
    const sweepJson = join(dir, 'sweep.json');
    writeFileSync(sweepJson, JSON.stringify(sweep, null, 2));
    const sweepHtml = join(dir, 'sweep.html');
    const fromFile = await retainCli(['report', sweepJson, '--out', sweepHtml], env());
    expect({ code: fromFile.code, stderr: fromFile.code === 0 ? '' : fromFile.stderr }).toEqual({ code: 0, stderr: '' });

    const browser = await launchChromium();
    const problems: string[] = [];
    const requests: string[] = [];
    const drawn: Record<string, Record<string, DrawnPlot>> = {};
    try {
      const page = await browser.context.newPage();
      page.on('console', (m) => ['error', 'warning'].includes(m.type()) && problems.push(`console ${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      browser.context.on('request', (r) => requests.push(r.url()));
      for (const [name, file] of [
        ['run', runHtml],
        ['sweep', sweepHtml],
      ]) {
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        const plots: Record<string, DrawnPlot> = {};
        for (const figure of await page.locator('figure[data-plot]').all()) {
          const marks: Record<string, number> = {};
          // A mark's items are the children of its SVG group: paths (rects, lines, symbols), texts, lines (rules).
          for (const mark of Object.values(MARKS)) marks[mark] = await figure.locator(`g.${mark} > *`).count();
          const box = await figure.locator('svg').boundingBox();
          plots[(await figure.getAttribute('data-plot')) ?? '?'] = { marks, width: box?.width ?? 0, height: box?.height ?? 0 };
        }
        drawn[name] = plots;
      }
    } finally {
      await browser.close();
    }
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(runHtml).href, pathToFileURL(sweepHtml).href]);

    // The run: a T x T heatmap per model (fp32, rtn-int8), a line per task and model, a point per evaluated cell.
    const T = ewc1.tasks.length;
    const models = Object.keys(ewc1.matrices);
    const evaluated = Object.values(ewc1.matrices).flatMap((m) => m.flat().filter((v) => v !== null)).length;
    expect(models).toEqual(['fp32', 'rtn-int8']);
    expect(evaluated).toBe(models.length * (T * T - 1));
    expect(Object.keys(drawn.run)).toEqual(['heatmap', 'task-curves']);
    expect(drawn.run.heatmap.marks).toMatchObject({ [MARKS.cell]: models.length * T * T, [MARKS.cellLabel]: models.length * T * T });
    expect(drawn.run['task-curves'].marks).toMatchObject({ [MARKS.line]: models.length * T, [MARKS.point]: evaluated });
    for (const plot of Object.values(drawn.run)) expect(plot.width * plot.height).toBeGreaterThan(100 * 100);

    // The sweep: per metric a bar and an error bar per group and model; per group a seed-mean heatmap per model.
    const bars = (key: 'metrics' | 'quantization') => sweep.groups.reduce((n, g) => n + Object.keys(g[key]).length, 0);
    expect(bars('metrics')).toBe(2 * models.length);
    expect(Object.keys(drawn.sweep)).toEqual([
      'metric-acc',
      'metric-bwt',
      'metric-forgetting',
      'quantization-acc-gap',
      'quantization-qif',
      'heatmap-group-0',
      'heatmap-group-1',
    ]);
    for (const plot of ['metric-acc', 'metric-bwt', 'metric-forgetting'])
      expect({ plot, ...drawn.sweep[plot].marks }).toMatchObject({
        plot,
        [MARKS.mean]: bars('metrics'),
        [MARKS.errorbar]: bars('metrics'),
      });
    for (const plot of ['quantization-acc-gap', 'quantization-qif'])
      expect({ plot, ...drawn.sweep[plot].marks }).toMatchObject({
        plot,
        [MARKS.mean]: bars('quantization'),
        [MARKS.errorbar]: bars('quantization'),
      });
    for (const plot of ['heatmap-group-0', 'heatmap-group-1']) expect(drawn.sweep[plot].marks[MARKS.cell]).toBe(models.length * T * T);
    for (const plot of Object.values(drawn.sweep)) expect(plot.width * plot.height).toBeGreaterThan(100 * 100);
  });
});
