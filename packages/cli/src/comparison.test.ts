import { statOverSeeds, type CLMetrics, type QuantizationMetrics, type SeedStat } from '@retain/metrics';
import type { ExperimentResult, ExperimentSpec, SweepGroupSummary, SweepResult } from '@retain/sdk';
import { compareGroups, compareResults, formatComparison, specDifferences, verdict, zeroVerdict } from './comparison';
import type { LoadedResults } from './results-source';

const spec = (over: Record<string, unknown> = {}) =>
  ({
    name: 'base',
    seed: 1,
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2 } },
    method: { name: 'naive', config: {} },
    quantizers: [{ name: 'rtn', config: { bits: 8 } }],
    execution: { taskQueue: 'q1' },
    ...over,
  }) as unknown as ExperimentSpec;

const cl = (acc: number, bwt: number | null = -0.1): CLMetrics => ({ acc, bwt, fwt: 0.01, forgetting: bwt === null ? null : -bwt });
const quant = (accGap: number, qif: number | null): QuantizationMetrics =>
  ({ accGap, meanGap: accGap, quantizationInducedForgetting: qif, bucketCrossingRate: [], bytes: [] }) as QuantizationMetrics;

function run(id: string, s: ExperimentSpec, fp32: number, int8: number): LoadedResults {
  const result = {
    runId: id,
    spec: s,
    metrics: { fp32: cl(fp32), 'rtn-int8': cl(int8) },
    quantization: { 'rtn-int8': quant(fp32 - int8, 0.002) },
  } as Partial<ExperimentResult> as ExperimentResult;
  return { kind: 'run', id, result };
}

function group(key: string, accs: number[]): SweepGroupSummary {
  const over = (f: (acc: number) => number | null) => statOverSeeds(accs.map(f));
  const models = (shift: number) => ({
    acc: over((a) => a - shift),
    bwt: over(() => -0.1),
    fwt: over(() => 0.01),
    forgetting: over(() => 0.1),
  });
  return {
    group: key,
    overrides: {},
    runIds: accs.map((_, i) => `${key}-${i}`),
    seeds: accs.map((_, i) => i + 1),
    metrics: { fp32: models(0), 'rtn-int8': models(0.01) },
    quantization: { 'rtn-int8': { accGap: over(() => 0.01), meanGap: over(() => 0.01), quantizationInducedForgetting: over(() => null) } },
  };
}

function sweep(id: string, groups: SweepGroupSummary[]): LoadedResults {
  const result = {
    sweepId: id,
    spec: { ...spec(), sweep: { grid: {}, parallel: 4 } },
    groups,
    cells: [],
    runs: {},
  } as Partial<SweepResult> as SweepResult;
  return { kind: 'sweep', id, result };
}

const stat = (mean: number, std: number, n: number): SeedStat => ({ mean, std, n, values: [] });

describe('verdict (Welch t-test)', () => {
  it('needs two seeds on both sides, and values', () => {
    expect(verdict(stat(0.5, 0, 1), stat(0.6, 0.01, 3))).toEqual({ test: 'n/a', reason: '1 seed' });
    expect(verdict(stat(0.5, 0.01, 3), { mean: null, std: null, n: 0, values: [null] })).toEqual({ test: 'n/a', reason: 'no value' });
    expect(verdict(null, stat(0.5, 0.01, 3))).toEqual({ test: 'n/a', reason: 'no value' });
  });

  it('gives p = 0.05 at the t distribution critical value (df 4: t = 2.7764)', () => {
    // n = 3 and std 1 on both sides: df = 4 exactly, and t = diff / sqrt(2/3).
    const v = verdict(stat(0, 1, 3), stat(2.776445 * Math.sqrt(2 / 3), 1, 3));
    expect(v.test).toBe('welch');
    if (v.test !== 'welch') return;
    expect(v.df).toBeCloseTo(4, 10);
    expect(v.t).toBeCloseTo(2.776445, 5);
    expect(v.p).toBeCloseTo(0.05, 5);
  });

  it('calls a small difference within noise and a large one a difference', () => {
    expect(verdict(stat(0.8, 0.02, 3), stat(0.81, 0.02, 3))).toMatchObject({ test: 'welch', withinNoise: true });
    expect(verdict(stat(0.8, 0.002, 3), stat(0.9, 0.002, 3))).toMatchObject({ test: 'welch', withinNoise: false });
    // No spread on either side: equal means are within noise, different means differ.
    expect(verdict(stat(0.8, 0, 2), stat(0.8, 0, 2))).toMatchObject({ p: 1, withinNoise: true });
    expect(verdict(stat(0.8, 0, 2), stat(0.81, 0, 2))).toMatchObject({ p: 0, withinNoise: false });
  });
});

describe('specDifferences', () => {
  it('lists the fields that differ from the first spec, with each value, but not name or execution', () => {
    const a = spec();
    const b = spec({ name: 'other', method: { name: 'ewc', config: { lambda: 100 } }, execution: { taskQueue: 'q2' } });
    const c = spec({ quantizers: [{ name: 'rtn', config: { bits: 4 } }] });
    expect(specDifferences([a, b, c])).toEqual([
      { field: 'method.name', values: ['naive', 'ewc', 'naive'] },
      { field: 'method.config', values: [{}, undefined, {}] },
      { field: 'quantizers[0].config.bits', values: [8, 8, 4] },
      { field: 'method.config.lambda', values: [undefined, 100, undefined] },
    ]);
    expect(specDifferences([a, spec({ name: 'x' })])).toEqual([]);
  });
});

describe('compareResults', () => {
  it('two runs: one group, fp32 and quantizer rows, deltas against the first, verdict n/a (1 seed)', () => {
    const c = compareResults([run('r1', spec(), 0.8, 0.78), run('r2', spec({ seed: 2 }), 0.85, 0.8)]);
    expect(c.subjects).toEqual([
      { kind: 'run', id: 'r1', seeds: 1 },
      { kind: 'run', id: 'r2', seeds: 1 },
    ]);
    expect(c.specDifferences).toEqual([{ field: 'seed', values: [1, 2] }]);
    expect(c.groups).toHaveLength(1);
    const rows = c.groups[0].rows;
    expect(rows.map((r) => `${r.model}.${r.metric}`)).toEqual([
      'fp32.acc',
      'fp32.bwt',
      'fp32.fwt',
      'fp32.forgetting',
      'rtn-int8.acc',
      'rtn-int8.bwt',
      'rtn-int8.fwt',
      'rtn-int8.forgetting',
      'rtn-int8.accGap',
      'rtn-int8.qif',
    ]);
    expect(rows[0].values.map((v) => v?.mean)).toEqual([0.8, 0.85]);
    expect(rows[0].deltas[0]).toBeNull();
    expect(rows[0].deltas[1]).toBeCloseTo(0.05, 12);
    expect(rows[8].deltas[1]).toBeCloseTo(0.05 - 0.02, 12);
    expect(rows[0].verdicts).toEqual([null, { test: 'n/a', reason: '1 seed' }]);

    const text = formatComparison(c);
    expect(text).toContain('A = run r1\nB = run r2');
    expect(text).toMatch(/spec field\s+A\s+B\nseed\s+1\s+2/);
    expect(text).toMatch(/model\s+metric\s+A\s+B\s+Δ B−A\s+B vs A\nfp32\s+ACC\s+0\.8000\s+0\.8500\s+\+0\.0500\s+n\/a \(1 seed\)/);
    expect(text).toMatch(/rtn-int8\s+ACC gap\s+\+0\.0200\s+\+0\.0500\s+\+0\.0300\s+n\/a \(1 seed\)/);
  });

  it('sweeps: groups matched by key, mean ± std, a Welch verdict; a group one side lacks prints -', () => {
    const a = sweep('s1', [group('method=naive', [0.8, 0.81, 0.79]), group('method=ewc', [0.85, 0.86, 0.84])]);
    const b = sweep('s2', [group('method=ewc', [0.95, 0.96, 0.94]), group('method=naive', [0.8, 0.82, 0.8])]);
    const c = compareResults([a, b]);
    expect(c.groups.map((g) => g.group)).toEqual(['method=naive', 'method=ewc']);
    const naiveAcc = c.groups[0].rows[0];
    expect(naiveAcc.values.map((v) => v?.n)).toEqual([3, 3]);
    expect(naiveAcc.verdicts[1]).toMatchObject({ test: 'welch', withinNoise: true });
    const ewcAcc = c.groups[1].rows[0];
    expect(ewcAcc.deltas[1]).toBeCloseTo(0.1, 12);
    expect(ewcAcc.verdicts[1]).toMatchObject({ test: 'welch', withinNoise: false });
    // QIF is null in every seed: no value, no verdict.
    const qif = c.groups[0].rows.find((r) => r.metric === 'qif')!;
    expect(qif.verdicts[1]).toEqual({ test: 'n/a', reason: 'no value' });

    const text = formatComparison(c);
    expect(text).toMatch(/Group method=ewc\n.*\nfp32\s+ACC\s+0\.8500 ± 0\.0100\s+0\.9500 ± 0\.0100\s+\+0\.1000\s+differs \(p[<=]0\.0\d+\)/);
    expect(text).toMatch(
      /Group method=naive\n.*\nfp32\s+ACC\s+0\.8000 ± 0\.0100\s+0\.8067 ± 0\.0115\s+\+0\.0067\s+within noise \(p=0\.\d+\)/,
    );

    const missing = compareResults([a, sweep('s3', [group('method=naive', [0.8, 0.8])])]);
    expect(missing.groups[1].rows[0].values[1]).toBeNull();
    expect(formatComparison(missing)).toMatch(/Group method=ewc\n.*\nfp32\s+ACC\s+0\.8500 ± 0\.0100\s+-\s+n\/a\s+n\/a \(no value\)/);
  });

  it('a run beside a sweep stands against every group, with 1 seed', () => {
    const c = compareResults([
      sweep('s1', [group('method=naive', [0.8, 0.81]), group('method=ewc', [0.85, 0.86])]),
      run('r', spec(), 0.9, 0.89),
    ]);
    expect(c.groups.map((g) => [g.group, g.rows[0].values[1]?.mean, g.rows[0].verdicts[1]])).toEqual([
      ['method=naive', 0.9, { test: 'n/a', reason: '1 seed' }],
      ['method=ewc', 0.9, { test: 'n/a', reason: '1 seed' }],
    ]);
    // The sweep's spec has a sweep section the run's lacks.
    expect(c.specDifferences).toEqual([
      { field: 'sweep.grid', values: [{}, undefined] },
      { field: 'sweep.parallel', values: [4, undefined] },
    ]);
  });

  it('refuses fewer than two', () => {
    expect(() => compareResults([run('r', spec(), 0.8, 0.8)])).toThrow(/at least two/);
  });
});

describe('compareGroups (compare <sweep> --groups)', () => {
  const named = (name: string, overrides: Record<string, unknown>, accs: number[]) => ({
    ...group(
      `${name} ${Object.entries(overrides)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`,
      accs,
    ),
    overrides,
  });
  const s = sweep('hsu', [
    named('class-il.adam', { 'benchmark.config.mode': 'class-il', method: 'naive' }, [0.2, 0.21, 0.19]),
    named('class-il.replay', { 'benchmark.config.mode': 'class-il', method: 'replay' }, [0.8, 0.82, 0.81]),
    named('class-il.ewc', { 'benchmark.config.mode': 'class-il', method: 'ewc' }, [0.2, 0.2, 0.21]),
  ]);

  it('sets groups of one sweep side by side, by variant name or whole key, the first the baseline, with paired verdicts', () => {
    const ewcKey = 'class-il.ewc benchmark.config.mode=class-il method=ewc';
    const c = compareGroups(s, ['class-il.adam', 'class-il.replay', ewcKey]);
    expect(c.subjects).toEqual([
      { kind: 'group', id: 'hsu:class-il.adam', seeds: 3 },
      { kind: 'group', id: 'hsu:class-il.replay', seeds: 3 },
      { kind: 'group', id: `hsu:${ewcKey}`, seeds: 3 },
    ]);
    const acc = c.groups[0].rows[0];
    expect(acc.deltas[1]).toBeCloseTo(0.61, 12);
    // The groups ran the same seeds: paired t-tests on the per-seed differences.
    expect(c.test.name).toBe('paired-t');
    expect(acc.verdicts[1]).toMatchObject({ test: 'paired-t', withinNoise: false, df: 2 });
    expect(acc.verdicts[2]).toMatchObject({ test: 'paired-t', withinNoise: true });
    // What differs between the groups is their overrides.
    expect(c.specDifferences).toEqual([{ field: 'method', values: ['naive', 'replay', 'ewc'] }]);
    expect(formatComparison(c)).toMatch(/^A = group hsu:class-il\.adam \(3 seeds\)$/m);
  });

  it('pairs seed by seed: a small shift every seed shares differs, though the seeds spread widely; other seeds: Welch', () => {
    const spread = sweep('spread', [named('a', { method: 'naive' }, [0.2, 0.4, 0.6]), named('b', { method: 'ewc' }, [0.21, 0.415, 0.61])]);
    const acc = compareGroups(spread, ['a', 'b']).groups[0].rows[0];
    expect(acc.verdicts[1]).toMatchObject({ test: 'paired-t', withinNoise: false });
    expect(verdict(acc.values[0], acc.values[1])).toMatchObject({ test: 'welch', withinNoise: true });
    expect(formatComparison(compareGroups(spread, ['a', 'b']))).toContain('verdict: paired t-test over the seeds both ran');

    // --test welch asks for Welch anyway; --test paired refuses groups with different seeds.
    expect(compareGroups(spread, ['a', 'b'], 'welch').groups[0].rows[0].verdicts[1]).toMatchObject({ test: 'welch', withinNoise: true });

    const b = named('b', { method: 'ewc' }, [0.21, 0.415]);
    const unequal = sweep('unequal', [named('a', { method: 'naive' }, [0.2, 0.4, 0.6]), b]);
    const c = compareGroups(unequal, ['a', 'b']);
    expect(c.test.name).toBe('welch-t');
    expect(c.groups[0].rows[0].verdicts[1]).toMatchObject({ test: 'welch' });
    expect(() => compareGroups(unequal, ['a', 'b'], 'paired')).toThrow(
      '--test paired needs groups that ran the same seeds; a: 1, 2, 3; b: 1, 2',
    );
  });

  it('names an unknown group with the ones there are, and refuses a run or a single group', () => {
    expect(() => compareGroups(s, ['class-il.adam', 'task-il.adam'])).toThrow(
      "sweep hsu has no group 'task-il.adam'; its groups: class-il.adam, class-il.replay, class-il.ewc",
    );
    expect(() => compareGroups(s, ['class-il.adam'])).toThrow(/at least two group names/);
    expect(() => compareGroups(run('r', spec(), 0.8, 0.8), ['a', 'b'])).toThrow(/r is a run/);
  });
});

describe('loss metrics and QIF against zero', () => {
  const loss = (l: number, forgetting: number) => ({ loss: l, perplexity: Math.exp(l), bwt: forgetting, fwt: -2, forgetting });
  /** A sweep group of three seeds whose runs have loss metrics: int4 forgets `extra` more than fp32 in each run. */
  function lossSweep(id: string, extra: number[]): LoadedResults {
    const g = group('method=naive', [0.3, 0.31, 0.29]);
    const runs = Object.fromEntries(
      g.runIds.map((runId, i) => [
        runId,
        { runId, lossMetrics: { fp32: loss(2.6 + i / 100, 0.08 + i / 100), 'rtn-int8': loss(2.61 + i / 100, 0.08 + i / 100 + extra[i]) } },
      ]),
    );
    const result = sweep(id, [{ ...g, lossMetrics: { fp32: {}, 'rtn-int8': {} } as unknown as SweepGroupSummary['lossMetrics'] }])
      .result as SweepResult;
    return { kind: 'sweep', id, result: { ...result, runs: runs as unknown as SweepResult['runs'] } };
  }

  it('adds loss, BWT and forgetting in loss per model and QIF (loss) per quantizer, from the runs seed by seed', () => {
    const c = compareResults([lossSweep('s1', [0.01, 0.012, 0.011]), lossSweep('s2', [0, 0.001, -0.001])]);
    const rows = c.groups[0].rows;
    const row = (model: string, metric: string) => rows.find((r) => r.model === model && r.metric === metric)!;
    expect(row('fp32', 'loss').values.map((v) => v?.mean)).toEqual([2.61, 2.61]);
    expect(row('fp32', 'forgettingLoss').values[0]?.n).toBe(3);
    expect(rows.some((r) => r.model === 'fp32' && r.metric === 'qifLoss')).toBe(false);
    const qif = row('rtn-int8', 'qifLoss');
    expect(qif.values[0]?.mean).toBeCloseTo(0.011, 12);
    expect(qif.values[1]?.mean).toBeCloseTo(0, 12);
    // A consistent +0.011 over three seeds is beyond noise; +0.001, 0, -0.001 is not.
    expect(qif.againstZero?.[0]).toMatchObject({ test: 'one-sample-t', withinNoise: false, df: 2 });
    expect(qif.againstZero?.[1]).toMatchObject({ test: 'one-sample-t', withinNoise: true });
    expect(qif.verdicts[1]).toMatchObject({ test: 'welch', withinNoise: false });
    const text = formatComparison(c);
    expect(text).toContain('X vs 0 (QIF rows)');
    expect(text).toMatch(
      /rtn-int8\s+QIF \(loss\)\s+\+0\.0110 ± 0\.0010\s+0\.0000 ± 0\.0010 .*differs \(p=0\.\d+\)\s+within noise \(p=1\.000\)/,
    );
  });

  it('leaves the loss rows out when no run has loss metrics', () => {
    const c = compareResults([run('r1', spec(), 0.8, 0.78), run('r2', spec(), 0.8, 0.78)]);
    expect(c.groups[0].rows.some((r) => (['loss', 'bwtLoss', 'forgettingLoss', 'qifLoss'] as string[]).includes(r.metric))).toBe(false);
    expect(formatComparison(c)).not.toContain('vs 0');
  });
});

describe('zeroVerdict (one-sample t-test)', () => {
  it('gives p = 0.05 at the critical value (df 2: t = 4.3027) and needs two seeds', () => {
    const v = zeroVerdict(stat(4.302653 / Math.sqrt(3), 1, 3));
    expect(v).toMatchObject({ test: 'one-sample-t', df: 2 });
    if (v.test === 'n/a') return;
    expect(v.p).toBeCloseTo(0.05, 5);
    expect(zeroVerdict(stat(0.1, 0, 1))).toEqual({ test: 'n/a', reason: '1 seed' });
    expect(zeroVerdict(stat(0.1, 0, 3))).toMatchObject({ p: 0, withinNoise: false });
  });
});
