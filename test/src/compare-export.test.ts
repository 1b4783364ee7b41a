import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { statOverSeeds } from '@retain/metrics';
import type { ExperimentResult, SweepResult } from '@retain/sdk';
import { retainCli } from './cli-process';

/**
 * Reading results through the built CLI: `compare`, `ls`, `show` and `export-metrics` on three
 * real tiny runs (by id, from the shared test server and their store) and on sweep.json files made
 * from their results.json (sweeps cannot run on this branch yet), and the TensorBoard event files
 * read back by TensorBoard's own reader (EventAccumulator, installed by infra/setup.sh).
 */

const ROOT = resolve(__dirname, '../..');
const TOOLS = process.env.RETAIN_HOME ? join(resolve(process.env.RETAIN_HOME), 'tools') : join(ROOT, '.retain/tools');
const TENSORBOARD = join(TOOLS, 'tensorboard-2.21.0');

/** Every scalar of every run folder under `dir`, as TensorBoard's EventAccumulator reads them: folder -> tag -> [step, value][]. */
function readWithTensorBoard(dir: string): Record<string, Record<string, Array<[number, number]>>> {
  if (!existsSync(join(TENSORBOARD, 'tensorboard')))
    throw new Error(
      `TensorBoard's reader is not installed in ${TENSORBOARD}: run infra/setup.sh (it pip-installs tensorboard==2.21.0 there)`,
    );
  const script = [
    'import json, os, sys',
    'from tensorboard.backend.event_processing import event_accumulator as ea',
    'out = {}',
    'for root, _, files in os.walk(sys.argv[1]):',
    "    if any('tfevents' in f for f in files):",
    '        acc = ea.EventAccumulator(root, size_guidance={ea.SCALARS: 0}); acc.Reload()',
    "        out[os.path.relpath(root, sys.argv[1])] = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()['scalars']}",
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, dir], { env: { ...process.env, PYTHONPATH: TENSORBOARD }, encoding: 'utf8' }));
}

/** What the event files must hold for a run: each evaluated cell, and ACC/BWT per model, as float32 (TensorBoard's scalars). */
function expectedScalars(r: Pick<ExperimentResult, 'tasks' | 'matrices' | 'metrics'>): Record<string, Array<[number, number]>> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const [model, R] of Object.entries(r.matrices)) {
    r.tasks.forEach((task, j) => {
      out[`accuracy/${model}/${task}`] = R.flatMap((row, i) => (row[j] === null ? [] : [[i, Math.fround(row[j]!)] as [number, number]]));
    });
    out[`metrics/${model}/acc`] = [[r.tasks.length - 1, Math.fround(r.metrics[model].acc)]];
    out[`metrics/${model}/bwt`] = [[r.tasks.length - 1, Math.fround(r.metrics[model].bwt!)]];
  }
  return out;
}

/** A sweep.json of one group made from real runs' results.json: what the sweep workflow will aggregate (test-only). */
function sweepOf(sweepId: string, group: string, results: ExperimentResult[]): SweepResult {
  const over = (f: (r: ExperimentResult) => number | null) => statOverSeeds(results.map(f));
  const models = Object.keys(results[0].metrics);
  const quantizers = Object.keys(results[0].quantization);
  return {
    sweepId,
    spec: { ...results[0].spec, sweep: { seeds: results.map((r) => r.spec.seed), parallel: 4 } },
    cells: results.map((r, index) => ({
      index,
      runId: r.runId,
      overrides: {},
      seed: r.spec.seed,
      group,
      status: 'completed',
    })),
    groups: [
      {
        group,
        overrides: {},
        runIds: results.map((r) => r.runId),
        seeds: results.map((r) => r.spec.seed),
        metrics: Object.fromEntries(
          models.map((m) => [
            m,
            {
              acc: over((r) => r.metrics[m].acc),
              bwt: over((r) => r.metrics[m].bwt),
              fwt: over((r) => r.metrics[m].fwt),
              forgetting: over((r) => r.metrics[m].forgetting),
            },
          ]),
        ),
        quantization: Object.fromEntries(
          quantizers.map((q) => [
            q,
            {
              accGap: over((r) => r.quantization[q].accGap),
              meanGap: over((r) => r.quantization[q].meanGap),
              quantizationInducedForgetting: over((r) => r.quantization[q].quantizationInducedForgetting),
            },
          ]),
        ),
      },
    ],
    runs: Object.fromEntries(
      results.map((r) => [
        r.runId,
        { runId: r.runId, tasks: r.tasks, matrices: r.matrices, metrics: r.metrics, quantization: r.quantization },
      ]),
    ),
    startedAt: results[0].startedAt,
    finishedAt: results[results.length - 1].finishedAt,
  };
}

describe('retain compare / ls / show / export-metrics on real runs', () => {
  let dir: string;
  let env: Record<string, string>;
  const name = `cmp-${process.pid}`;
  const results: ExperimentResult[] = [];
  const sweepFiles: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-compare-'));
    env = { RETAIN_HOME: join(dir, 'state') };
    // Three tiny runs of one spec, seeds 1, 2, 3 (a few seconds each).
    for (const seed of [1, 2, 3]) {
      const spec = join(dir, `seed${seed}.yaml`);
      writeFileSync(
        spec,
        [
          `name: ${name}`,
          `seed: ${seed}`,
          'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 500, testPerTask: 200 } }',
          'model: { name: mlp, config: { hidden: [16] } }',
          'trainer: { name: supervised, config: { batchSize: 64 } }',
          'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
          `execution: { taskQueue: ${name} }`,
        ].join('\n'),
      );
      const out = join(dir, `out${seed}`);
      const run = await retainCli(['run', spec, '--out', out], env);
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      results.push(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ExperimentResult);
    }
    // Two "sweeps" of the same group, seeds {1, 2} and {2, 3}: n = 2 on each side.
    for (const [i, runs] of [results.slice(0, 2), results.slice(1, 3)].entries()) {
      const file = join(dir, `sweep${i}.json`);
      writeFileSync(file, JSON.stringify(sweepOf(`${name}-sweep${i}`, 'method=naive', runs)));
      sweepFiles.push(file);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compare two runs by id: the seed is what differs, deltas from results.json, verdict n/a (1 seed)', async () => {
    const [a, , c] = results;
    const json = await retainCli(['compare', a.runId, c.runId, '--json'], env);
    expect(json.code).toBe(0);
    const comparison = JSON.parse(json.stdout);
    expect(comparison.subjects).toEqual([
      { kind: 'run', id: a.runId, seeds: 1 },
      { kind: 'run', id: c.runId, seeds: 1 },
    ]);
    expect(comparison.specDifferences).toEqual([{ field: 'seed', values: [1, 3] }]);
    const rows = comparison.groups[0].rows as Array<{ model: string; metric: string; deltas: Array<number | null>; verdicts: unknown[] }>;
    for (const model of ['fp32', 'rtn-int8']) {
      const acc = rows.find((r) => r.model === model && r.metric === 'acc')!;
      expect(acc.deltas[1]).toBeCloseTo(c.metrics[model].acc - a.metrics[model].acc, 12);
      expect(acc.verdicts[1]).toEqual({ test: 'n/a', reason: '1 seed' });
    }
    const qif = rows.find((r) => r.model === 'rtn-int8' && r.metric === 'qif')!;
    expect(qif.deltas[1]).toBeCloseTo(
      c.quantization['rtn-int8'].quantizationInducedForgetting! - a.quantization['rtn-int8'].quantizationInducedForgetting!,
      12,
    );

    // The same from the files, as text.
    const text = await retainCli(['compare', join(dir, 'out1/results.json'), join(dir, 'out3/results.json')], {});
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/spec field\s+A\s+B\nseed\s+1\s+3/);
    expect(text.stdout).toMatch(/fp32\s+ACC\s+\d\.\d{4}\s+\d\.\d{4}\s+[+-]?\d\.\d{4}\s+n\/a \(1 seed\)/);
  });

  it('compare two sweeps (sweep.json): groups matched by key, mean ± std over 2 seeds, a Welch verdict', async () => {
    const { code, stdout } = await retainCli(['compare', ...sweepFiles, '--json'], {});
    expect(code).toBe(0);
    const comparison = JSON.parse(stdout);
    expect(comparison.groups.map((g: { group: string }) => g.group)).toEqual(['method=naive']);
    const acc = comparison.groups[0].rows[0];
    expect(acc).toMatchObject({ model: 'fp32', metric: 'acc' });
    expect(acc.values.map((v: { n: number }) => v.n)).toEqual([2, 2]);
    const mean = (rs: ExperimentResult[]) => (rs[0].metrics.fp32.acc + rs[1].metrics.fp32.acc) / 2;
    expect(acc.deltas[1]).toBeCloseTo(mean(results.slice(1, 3)) - mean(results.slice(0, 2)), 12);
    expect(acc.verdicts[1].test).toBe('welch');
    expect(acc.verdicts[1].p).toBeGreaterThanOrEqual(0);
    expect(acc.verdicts[1].p).toBeLessThanOrEqual(1);
    const text = await retainCli(['compare', ...sweepFiles], {});
    expect(text.stdout).toMatch(
      /Group method=naive\n.*\nfp32\s+ACC\s+\d\.\d{4} ± \d\.\d{4}\s+\d\.\d{4} ± \d\.\d{4}\s+\S+\s+(within noise|differs) \(p[=<]\d/,
    );
  });

  it('ls lists the runs with ACC and BWT per model from their results (--json and text)', async () => {
    const { code, stdout } = await retainCli(['ls', '--spec', name, '--json'], env);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as Array<{ runId: string; status: string; metrics: Record<string, { acc: number; bwt: number }> }>;
    expect(listed.map((r) => r.runId).sort()).toEqual(results.map((r) => r.runId).sort());
    for (const r of results) {
      const row = listed.find((l) => l.runId === r.runId)!;
      expect(row.status).toBe('completed');
      expect(row.metrics).toEqual({
        fp32: { acc: r.metrics.fp32.acc, bwt: r.metrics.fp32.bwt },
        'rtn-int8': { acc: r.metrics['rtn-int8'].acc, bwt: r.metrics['rtn-int8'].bwt },
      });
    }
    const text = await retainCli(['ls', '--spec', name], env);
    expect(text.stdout).toMatch(/started\s+ACC fp32\s+BWT fp32\s+ACC rtn-int8\s+BWT rtn-int8\n/);
    expect(text.stdout).toContain(results[0].metrics.fp32.acc.toFixed(4));
  });

  it('show prints a run in full by id, and a sweep from its sweep.json', async () => {
    const run = await retainCli(['show', results[0].runId], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${results[0].runId}: completed · 2 of 2 tasks finished`));
    for (const part of [
      `Spec\nname: ${name}\nseed: 1`,
      'Tasks (2): permuted-0, permuted-1',
      'Accuracy, fp32',
      'Accuracy, rtn-int8',
      'Training per task',
      'Artifacts\nkind',
    ])
      expect(run.stdout).toContain(part);
    const sweep = await retainCli(['show', sweepFiles[0]], {});
    expect(sweep.code).toBe(0);
    expect(sweep.stdout).toMatch(new RegExp(`^sweep ${name}-sweep0: 2 cells \\(2 completed\\) in 1 groups`));
    expect(sweep.stdout).toMatch(
      /Group method=naive \(2 seeds: 1, 2\)\nmodel\s+ACC\s+BWT\s+FWT\s+Forgetting\nfp32\s+\d\.\d{4} ± \d\.\d{4}/,
    );
  });

  it('export-metrics --to tensorboard: TensorBoard reads back every accuracy and ACC/BWT of a run (by id) and of each sweep cell', async () => {
    const logdir = join(dir, 'tb');
    const byId = await retainCli(['export-metrics', results[0].runId, logdir, '--to', 'tensorboard'], env);
    expect({ code: byId.code, stderr: byId.stderr }).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/1 TensorBoard event file written/),
    });
    const fromSweep = await retainCli(['export-metrics', sweepFiles[1], logdir, '--to', 'tensorboard'], {});
    expect(fromSweep.code).toBe(0);

    const read = readWithTensorBoard(logdir);
    const folders = [results[0].runId, `${name}-sweep1/${results[1].runId}`, `${name}-sweep1/${results[2].runId}`];
    expect(Object.keys(read).sort()).toEqual(folders.sort());
    for (const [folder, r] of [
      [folders[0], results[0]],
      [folders[1], results[1]],
      [folders[2], results[2]],
    ] as const) {
      const expected = expectedScalars(r);
      for (const [tag, points] of Object.entries(expected))
        expect({ folder, tag, points: read[folder][tag] }).toEqual({ folder, tag, points });
      // Nothing under accuracy/ beyond the evaluated cells.
      expect(Object.keys(read[folder]).filter((t) => t.startsWith('accuracy/')).length).toBe(2 * r.tasks.length);
    }
    // A run exported from its id also carries training and quantization per task.
    expect(read[folders[0]]['training/final_loss'].map(([step]) => step)).toEqual([0, 1]);
    expect(read[folders[0]]['quantization/rtn-int8/qif']).toEqual([
      [1, Math.fround(results[0].quantization['rtn-int8'].quantizationInducedForgetting!)],
    ]);
  });

  it('refuses a results file that does not exist and a single argument, with exit code 2', async () => {
    const missing = await retainCli(['compare', join(dir, 'nope.json'), sweepFiles[0]], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: no such file/);
    const single = await retainCli(['compare', sweepFiles[0]], {});
    expect(single.code).toBe(2);
    expect(single.stderr).toMatch(/compare needs a second run or sweep to set beside the first, or --groups <names\.\.\.> of one sweep/);
    const unknownGroup = await retainCli(['compare', sweepFiles[0], '--groups', 'naive', 'ewc'], {});
    expect(unknownGroup.code).toBe(2);
    expect(unknownGroup.stderr).toMatch(/has no group 'naive'; its groups: method=naive/);
    const format = await retainCli(['export-metrics', sweepFiles[0], join(dir, 'x'), '--to', 'wandb'], {});
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/Allowed choices are tensorboard/);
  });
});
