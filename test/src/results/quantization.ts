/**
 * `npm run results:quantization [-- --quick | --seeds 0,1,2 --parallel N --qat-steps minmax|lsq --only split-fmnist/naive+qat]`:
 * regenerates docs/results/quantization.md and quantization.json in ONE invocation. `--render` runs
 * nothing: it rebuilds quantization.md from the quantization.json under `--out` (its runs carry every
 * matrix, so a change to the tables does not need the hour-long sweep again). For permuted
 * Fashion-MNIST (domain-IL) and split Fashion-MNIST (class-IL: one shared head, so replay applies),
 * and each of naive, EWC and replay, 3 seeds, one experiment runs through the real product path
 * (embedded Temporal dev server, a Retain worker, the experiment workflow, onnxruntime) with fp32
 * and RTN int8 / RTN int4 (per-channel and block 32) / HQQ int4 block 32 / GPTQ int4 (per-channel
 * and block 32). Each method also runs once more with quantization-aware training through RTN
 * int4 per-channel (min-max steps; `--qat-steps lsq` learns them), and that run's own int4 model is compared with
 * the post-training RTN int4 model of the plain run of the same method and seed. Mean and sample
 * standard deviation over seeds; the wall time of each run and of the whole sweep.
 *
 * Sizing (SIZES.full), measured on this 2-core machine (AMD EPYC) while other helpers' jobs ran
 * (load average 3 to 13), one seed at a time with `--seeds 0 --only ...`:
 * - a plain run (5 tasks of 10k training / 2k test samples, MLP 784-256-256-10, all 6 quantizers
 *   after every task): permuted naive 115 s (load ~5), split replay 221 s (load ~13);
 * - a QAT run (one int4 quantizer): 21 to 34 s;
 * - one lane used 66 s of CPU in 133 s of wall time (the rest waits on Temporal round trips and
 *   other processes), so two runs at once (`--parallel 2`, the default) overlap those waits.
 * 18 plain + 18 QAT runs: about 54 min run one after another, so 40-50 min with two lanes.
 * `--quick` (1 seed, 2 tasks of 2k / 500, MLP 784-64-10) took 4.9 min at load ~11.
 * Not part of CI.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import type { ExperimentResult, ExperimentSpec } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { createHarness } from '../harness';
import { startScratchServer } from '../scratch-server';

const ROOT = resolve(__dirname, '../../..');
const METHODS = ['naive', 'ewc', 'replay'] as const;

/** Post-training quantizers every plain run gets. */
const QUANTIZERS = [
  { name: 'rtn', config: { bits: 8 } },
  { name: 'rtn', config: { bits: 4 } },
  { name: 'rtn', config: { bits: 4, granularity: 'block', blockSize: 32 } },
  // Block 32 (HQQ's own default is 64) so HQQ compares with RTN int4 block 32 on the same grid.
  { name: 'hqq', config: { bits: 4, blockSize: 32 } },
  { name: 'gptq', config: { bits: 4 } },
  { name: 'gptq', config: { bits: 4, granularity: 'block', blockSize: 32 } },
];

/** The quantizer QAT trains through; its id is the post-training model it is compared with. */
const QAT_QUANTIZER = { id: 'rtn-int4', name: 'rtn', config: { bits: 4 } };
/**
 * QAT steps: min-max by default (each step is max|w| / qmax of the current weights, exactly the
 * grid post-training RTN exports, so there is no step learning rate to tune); `--qat-steps lsq`
 * learns them (Esser et al. 2020). Neither was measurably better, so the simpler one is the
 * default. Measured int4 ACC of the QAT model, seed 0 at the full sizes: permuted naive min-max
 * 0.7201 vs LSQ 0.6984 (post-training RTN int4 of the plain run 0.7046); split replay 0.7782 vs
 * 0.7794 (post-training 0.7767). test/src/qat.test.ts (3 seeds, 2 small permuted tasks): mean
 * int4 gap 0.0069 min-max vs 0.0028 LSQ, within test-set noise. Why LSQ gains nothing here: with
 * SGD lr 0.01 the steps hardly learn (mean step of each layer moved < 1% over a 10k-example task,
 * the LSQ gradient being scaled by 1/sqrt(N qmax)), so LSQ keeps its initial 2 mean|w| / sqrt(qmax),
 * a grid 1.2-1.4x coarser than min-max (measured on 784-256-256-10, 2 permuted tasks).
 */
let qatLsq = false; // --qat-steps lsq|minmax

/** Per-task sizes; `full` is sized to 40-50 min for the whole sweep (see the header). */
const SIZES = {
  quick: { permutedTasks: 2, splitTasks: 2, trainPerTask: 2000, testPerTask: 500, hidden: [64], batchSize: 64 },
  full: { permutedTasks: 5, splitTasks: 5, trainPerTask: 10000, testPerTask: 2000, hidden: [256, 256], batchSize: 128 },
};

interface Args {
  quick: boolean;
  /** Rebuild the markdown from the stored JSON, run nothing. */
  render: boolean;
  seeds: number[];
  parallel: number;
  only?: string[];
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, render: false, seeds: [0, 1, 2], parallel: 2, out: join(ROOT, 'docs/results') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quick') {
      args.quick = true;
      continue;
    }
    if (flag === '--render') {
      args.render = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    if (flag === '--seeds') args.seeds = value.split(',').map(Number);
    else if (flag === '--parallel') args.parallel = Number(value);
    else if (flag === '--only') args.only = value.split(',');
    else if (flag === '--out') args.out = resolve(value);
    else if (flag === '--qat-steps') {
      if (value !== 'lsq' && value !== 'minmax')
        throw new Error(`--qat-steps: 'lsq' (learned steps) or 'minmax' (max|w| / qmax), got '${value}'`);
      qatLsq = value === 'lsq';
    } else
      throw new Error(
        `unknown flag '${flag}': use --quick, --seeds, --parallel, --only benchmark/variant, --qat-steps lsq|minmax, --out, --render`,
      );
  }
  if (args.quick && !argv.includes('--seeds')) args.seeds = [0];
  if (!args.seeds.length || args.seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new Error('--seeds: give non-negative integers separated by commas, e.g. 0,1,2');
  if (!Number.isInteger(args.parallel) || args.parallel < 1) throw new Error('--parallel: give a positive integer');
  return args;
}

/** One run of the sweep: a benchmark, a method trained plainly or through the quantizer, a seed. */
interface Job {
  benchmark: string;
  method: string;
  qat: boolean;
  seed: number;
}

/** `naive`, or `naive+qat-lsq` for the QAT run of naive. */
const variantOf = (j: { method: string; qat: boolean }) => (j.qat ? `${j.method}+qat${qatLsq ? '-lsq' : ''}` : j.method);

function specOf(job: Job, quick: boolean): ExperimentSpec {
  const s = quick ? SIZES.quick : SIZES.full;
  const sizes = { trainPerTask: s.trainPerTask, testPerTask: s.testPerTask };
  const benchmark =
    job.benchmark === 'permuted-fmnist'
      ? { name: 'permuted-fmnist', config: { tasks: s.permutedTasks, ...sizes } }
      : { name: 'split-fmnist', config: { tasks: s.splitTasks, mode: 'class-il', ...sizes } };
  return defaultRegistry().validateSpec({
    name: `results-quantization-${job.benchmark}-${variantOf(job).replace('+', '-')}`,
    seed: job.seed,
    benchmark,
    model: { name: 'mlp', config: { hidden: s.hidden } },
    trainer: {
      name: 'supervised',
      config: { epochs: 1, batchSize: s.batchSize, lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } },
    },
    method: { name: job.method, config: {} },
    ...(job.qat ? { quantizers: [QAT_QUANTIZER], qat: { quantizer: QAT_QUANTIZER.id, lsq: qatLsq } } : { quantizers: QUANTIZERS }),
  });
}

/** What the JSON keeps of each run: enough to rebuild every table (`--render`). */
type StoredResult = Pick<ExperimentResult, 'runId' | 'matrices' | 'quantization' | 'metrics'>;

interface Cell extends Job {
  seconds: number;
  result: StoredResult;
}

interface Stat {
  mean: number;
  sd: number;
  n: number;
}
type Row = Record<'acc' | 'bwt' | 'forgetting' | 'accGap' | 'meanGap' | 'qif' | 'crossing' | 'bytes', Stat | null>;

/** QAT's int4 model against post-training RTN int4 of the plain run, paired by seed. */
interface QatCheck {
  benchmark: string;
  method: string;
  /** ACC(plain fp32) - ACC(QAT run's int4 model). */
  qatGap: Stat | null;
  /** ACC(plain fp32) - ACC(plain run's post-training RTN int4). */
  ptqGap: Stat | null;
  /** ACC(plain fp32) - ACC(plain run's GPTQ int4), the best post-training int4 per-channel here. */
  gptqGap: Stat | null;
  seeds: number[];
}

function stat(values: (number | null | undefined)[]): Stat | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, n: xs.length };
}

function summarize(cells: Cell[]): Record<string, Record<string, Row>> {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const key = `${c.benchmark} / ${variantOf(c)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const out: Record<string, Record<string, Row>> = {};
  for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    out[key] = {};
    for (const variant of Object.keys(group[0].result.matrices)) {
      const q = (c: Cell) => c.result.quantization[variant];
      const crossing = (c: Cell) => {
        const rates = (q(c)?.bucketCrossingRate ?? []).filter((r): r is number => r !== null);
        return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null;
      };
      out[key][variant] = {
        acc: stat(group.map((c) => c.result.metrics[variant].acc)),
        bwt: stat(group.map((c) => c.result.metrics[variant].bwt)),
        forgetting: stat(group.map((c) => c.result.metrics[variant].forgetting)),
        accGap: stat(group.map((c) => q(c)?.accGap)),
        meanGap: stat(group.map((c) => q(c)?.meanGap)),
        qif: stat(group.map((c) => q(c)?.quantizationInducedForgetting)),
        crossing: stat(group.map(crossing)),
        bytes: stat(group.map((c) => q(c)?.bytes.at(-1))),
      };
    }
  }
  return out;
}

function qatChecks(cells: Cell[]): QatCheck[] {
  const out: QatCheck[] = [];
  const find = (b: string, m: string, qat: boolean, seed: number) =>
    cells.find((c) => c.benchmark === b && c.method === m && c.qat === qat && c.seed === seed);
  const pairs = new Map<string, { benchmark: string; method: string }>();
  for (const c of cells) if (c.qat) pairs.set(`${c.benchmark}/${c.method}`, c);
  for (const { benchmark, method } of pairs.values()) {
    const seeds = [...new Set(cells.map((c) => c.seed))].filter(
      (s) => find(benchmark, method, true, s) && find(benchmark, method, false, s),
    );
    const acc = (qat: boolean, model: string) => seeds.map((s) => find(benchmark, method, qat, s)!.result.metrics[model]?.acc);
    const fp32 = acc(false, 'fp32');
    const gap = (xs: (number | undefined)[]) => stat(xs.map((x, i) => (x === undefined ? null : fp32[i]! - x)));
    out.push({
      benchmark,
      method,
      qatGap: gap(acc(true, QAT_QUANTIZER.id)),
      ptqGap: gap(acc(false, QAT_QUANTIZER.id)),
      gptqGap: gap(acc(false, 'gptq-int4')),
      seeds,
    });
  }
  return out;
}

/** Mean of fp32 - quantized over the given cells (row t, column j) of one run's accuracy matrices. */
function meanCellGap(cell: Cell, model: string, cells: (t: number) => number[]): number | null {
  const fp32 = cell.result.matrices.fp32;
  const quantized = cell.result.matrices[model];
  if (!fp32 || !quantized) return null;
  const gaps = fp32.flatMap((row, t) => cells(t).map((j) => (row[j] ?? NaN) - (quantized[t][j] ?? NaN)));
  return gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : null;
}

/** Where a quantizer's gap falls: on the task just trained (whose data calibrated GPTQ) or on earlier ones. */
interface GapLocation {
  /** fp32 - quantized on the diagonal R[t][t], averaged over t, then mean ± sd over runs. */
  current: Stat | null;
  /** fp32 - quantized on R[t][j], j < t, averaged over those cells, then mean ± sd over runs. */
  earlier: Stat | null;
}

/** Per benchmark, per post-training model, per method and over all methods ('all'): plain runs only. */
function gapLocations(cells: Cell[]): Record<string, Record<string, Record<string, GapLocation>>> {
  const out: Record<string, Record<string, Record<string, GapLocation>>> = {};
  const plain = cells.filter((c) => !c.qat);
  for (const benchmark of [...new Set(plain.map((c) => c.benchmark))]) {
    const runs = plain.filter((c) => c.benchmark === benchmark);
    const models = Object.keys(runs[0].result.matrices).filter((m) => m !== 'fp32');
    const groups: [string, Cell[]][] = [
      ['all', runs],
      ...METHODS.filter((m) => runs.some((c) => c.method === m)).map((m): [string, Cell[]] => [m, runs.filter((c) => c.method === m)]),
    ];
    out[benchmark] = {};
    for (const model of models) {
      out[benchmark][model] = {};
      for (const [group, members] of groups)
        out[benchmark][model][group] = {
          current: stat(members.map((c) => meanCellGap(c, model, (t) => [t]))),
          earlier: stat(members.map((c) => meanCellGap(c, model, (t) => Array.from({ length: t }, (_, j) => j)))),
        };
    }
  }
  return out;
}

/**
 * "a < b" as a verdict: "within noise" when the two means differ by less than the larger of the two
 * standard deviations over seeds (3 seeds cannot separate them), else "holds" or "does not hold".
 */
function lessVerdict(a: Stat | null | undefined, b: Stat | null | undefined): string {
  if (!a || !b) return 'not measured';
  if (Math.abs(a.mean - b.mean) < Math.max(a.sd, b.sd)) return 'within noise';
  return a.mean < b.mean ? 'holds' : '**does not hold**';
}

interface Meta {
  generated: string;
  command: string;
  quick: boolean;
  seeds: number[];
  sizes: (typeof SIZES)['full'];
  parallel: number;
  wallSeconds: number;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

const f = (s: Stat | null, digits = 4) =>
  s === null ? 'n/a' : s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits);

function markdown(meta: Meta, summary: Record<string, Record<string, Row>>, checks: QatCheck[], cells: Cell[], failures: string[]): string {
  const s = meta.sizes;
  const lines = [
    '# Quantization and forgetting: results',
    '',
    'Generated by `test/src/results/quantization.ts`; do not edit by hand.',
    '',
    `Command: \`${meta.command}\` (generated ${meta.generated}).`,
    '',
    meta.quick ? '**Quick mode: 2 small tasks, 1 seed. A pipeline check, not a result.**' : '',
    '',
    `- Benchmarks: permuted-fmnist (${s.permutedTasks} tasks, domain-IL) and split-fmnist class-IL (${s.splitTasks} tasks, one shared head);`,
    `  ${s.trainPerTask} training and ${s.testPerTask} test samples per task; MLP 784-${s.hidden.join('-')}-10; 1 epoch, batch ${s.batchSize},`,
    '  SGD lr 0.01 momentum 0.9; each method with its default config (see its README).',
    '- Post-training quantizers of the plain runs, applied after every task: RTN int8 and int4 per-channel, RTN int4',
    '  block 32, HQQ int4 block 32, GPTQ int4 per-channel and block 32 (calibration data from the current task).',
    `- QAT runs (\`<method>+qat${qatLsq ? '-lsq' : ''}\`): the same method trained through RTN int4 per-channel fake quantization`,
    `  (straight-through estimator${qatLsq ? ', learned step sizes (LSQ)' : ''}); their \`rtn-int4\` row is the QAT model exported to int4.`,
    `- Seeds: ${meta.seeds.join(', ')}; mean ± sample standard deviation over seeds.`,
    `- Machine: ${meta.cores} × ${meta.cpu}, ${meta.memoryGiB} GiB, shared with other jobs; Node ${meta.node}; ${meta.parallel} run(s) at once.`,
    `- Wall time: ${(meta.wallSeconds / 60).toFixed(1)} min for the whole sweep.`,
    '',
    'Columns: ACC, BWT, Forgetting (docs/architecture.md §6) of each model; ACC gap = ACC(fp32) - ACC(quantized) of the same run;',
    'mean gap = mean over all cells of fp32 - quantized; QIF = quantization-induced forgetting =',
    'forgetting(quantized) - forgetting(fp32); crossing = mean bucket-crossing rate over tasks 1..T-1;',
    'bytes = ONNX model size after the last task.',
    '',
    'Verdicts ("holds" / "does not hold") compare two means; a comparison is marked "within noise" when the difference',
    'of the two means is smaller than the larger of the two standard deviations over seeds.',
    '',
  ];
  for (const [key, rows] of Object.entries(summary)) {
    lines.push(
      `## ${key}`,
      '',
      '| model | ACC | BWT | Forgetting | ACC gap | mean gap | QIF | crossing | bytes |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const [variant, r] of Object.entries(rows))
      lines.push(
        `| ${variant} | ${f(r.acc)} | ${f(r.bwt)} | ${f(r.forgetting)} | ${f(r.accGap)} | ${f(r.meanGap)} | ${f(r.qif)} | ${f(r.crossing)} | ${f(r.bytes, 0)} |`,
      );
    if (key.includes('+qat')) {
      lines.push('');
      continue;
    }
    const less = (a: string, b: string) => lessVerdict(rows[a]?.meanGap, rows[b]?.meanGap);
    const int8Gap = rows['rtn-int8']?.accGap;
    const checksHere: [string, string][] = [
      ['int8 close to fp32 (|ACC gap| < 0.01)', int8Gap ? (Math.abs(int8Gap.mean) < 0.01 ? 'holds' : '**does not hold**') : 'not measured'],
      ['GPTQ int4 mean gap < RTN int4 mean gap (per-channel)', less('gptq-int4', 'rtn-int4')],
      ['GPTQ int4 mean gap < RTN int4 mean gap (block 32)', less('gptq-int4-block32', 'rtn-int4-block32')],
    ];
    lines.push('', 'Expectations from the literature (checked, not tuned to):', '');
    for (const [what, verdict] of checksHere) lines.push(`- ${what}: ${verdict}`);
    lines.push('');
  }
  lines.push(
    '## QAT int4 gap < post-training int4 gap',
    '',
    "Gaps against the plain run's fp32 ACC, paired by seed: QAT = ACC(fp32 of the plain run) - ACC(int4 model of the",
    'QAT run); post-training = ACC(fp32) - ACC(RTN int4 per-channel of the plain run), the same int4 grid QAT trains',
    'through; GPTQ int4 for reference. "holds" when the QAT mean gap is below the post-training one (within noise: see above).',
    '',
    '| benchmark / method | seeds | QAT int4 gap | post-training RTN int4 gap | post-training GPTQ int4 gap | QAT < RTN int4 |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const c of checks) {
    const verdict = lessVerdict(c.qatGap, c.ptqGap);
    lines.push(`| ${c.benchmark} / ${c.method} | ${c.seeds.join(', ')} | ${f(c.qatGap)} | ${f(c.ptqGap)} | ${f(c.gptqGap)} | ${verdict} |`);
  }
  lines.push('');
  for (const [benchmark, models] of Object.entries(gapLocations(cells))) {
    const groups = Object.keys(Object.values(models)[0] ?? {});
    const label = (g: string) => (g === 'all' ? 'all methods' : g);
    lines.push(
      `## Where the int4 gap falls: ${benchmark}`,
      '',
      `| model | ${groups.map((g) => `${label(g)}: current | ${label(g)}: earlier`).join(' | ')} |`,
      `| --- | ${groups.map(() => '--- | ---').join(' | ')} |`,
    );
    for (const [model, byGroup] of Object.entries(models))
      lines.push(`| ${model} | ${groups.map((g) => `${f(byGroup[g].current)} | ${f(byGroup[g].earlier)}`).join(' | ')} |`);
    lines.push(
      '',
      'Plain runs only. For each run, current = mean of fp32 - quantized over the diagonal R[t][t] (the task just trained,',
      'whose data calibrated GPTQ) and earlier = mean of fp32 - quantized over R[t][j], j < t; mean ± sample standard',
      'deviation over the seeds of each method, and over all runs (methods × seeds) in the "all methods" columns.',
      '',
    );
  }
  if (failures.length) lines.push('## Failed runs (left out of the means)', '', ...failures.map((x) => `- ${x}`), '');
  lines.push('## Wall time per run', '', '| run | seconds |', '| --- | --- |');
  for (const c of cells) lines.push(`| ${c.benchmark} / ${variantOf(c)} / seed ${c.seed} | ${c.seconds.toFixed(0)} |`);
  lines.push('');
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
}

/** The innermost message of a workflow failure (WorkflowFailedError -> ActivityFailure -> the plugin's error). */
function causeOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return String(e?.message ?? err).replace(/\s*\n\s*/g, ' ');
}

/** Written after every run, so a long sweep that stops keeps what it measured. */
async function write(args: Args, meta: Meta, cells: Cell[], failures: string[]): Promise<void> {
  const sorted = [...cells].sort((a, b) =>
    `${a.benchmark}/${variantOf(a)}/${a.seed}`.localeCompare(`${b.benchmark}/${variantOf(b)}/${b.seed}`),
  );
  const summary = summarize(sorted);
  const checks = qatChecks(sorted);
  mkdirSync(args.out, { recursive: true });
  const json = join(args.out, 'quantization.json');
  const md = join(args.out, 'quantization.md');
  writeFileSync(
    json,
    `${JSON.stringify(
      {
        ...meta,
        summary,
        qatChecks: checks,
        failures,
        runs: sorted.map(({ result, ...c }) => ({
          ...c,
          variant: variantOf(c),
          runId: result.runId,
          matrices: result.matrices,
          quantization: result.quantization,
          metrics: result.metrics,
        })),
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(md, markdown(meta, summary, checks, sorted, failures));
  await prettier([json, md]); // the repository's format check covers docs/
}

/** `--render`: the markdown again from the stored JSON (its meta, failures and runs), nothing run. */
async function render(args: Args): Promise<void> {
  const json = join(args.out, 'quantization.json');
  const stored = JSON.parse(readFileSync(json, 'utf8')) as Meta & {
    failures: string[];
    runs: (Job & { seconds: number; variant: string } & StoredResult)[];
  };
  if (!Array.isArray(stored.runs)) throw new Error(`${json}: no 'runs' array; write it with a full run of this script first`);
  // The variant names record whether QAT learned its steps; variantOf must name them the same way again.
  qatLsq = stored.runs.some((r) => r.variant.endsWith('+qat-lsq'));
  const { failures, runs, ...rest } = stored;
  const meta: Meta = {
    generated: rest.generated,
    command: rest.command,
    quick: rest.quick,
    seeds: rest.seeds,
    sizes: rest.sizes,
    parallel: rest.parallel,
    wallSeconds: rest.wallSeconds,
    cpu: rest.cpu,
    cores: rest.cores,
    memoryGiB: rest.memoryGiB,
    node: rest.node,
  };
  const cells: Cell[] = runs.map((r) => ({
    benchmark: r.benchmark,
    method: r.method,
    qat: r.qat,
    seed: r.seed,
    seconds: r.seconds,
    result: { runId: r.runId, matrices: r.matrices, quantization: r.quantization, metrics: r.metrics },
  }));
  const md = join(args.out, 'quantization.md');
  writeFileSync(md, markdown(meta, summarize(cells), qatChecks(cells), cells, failures ?? []));
  await prettier([md]);
  console.log(`rendered ${md} from ${json} (${cells.length} runs)`);
}

function prettier(files: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--write', ...files], { stdio: 'ignore' });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`prettier exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) return render(args);
  const jobs: Job[] = [];
  for (const benchmark of ['permuted-fmnist', 'split-fmnist'])
    for (const qat of [false, true])
      for (const method of METHODS)
        for (const seed of args.seeds) {
          const job = { benchmark, method, qat, seed };
          if (!args.only || args.only.includes(`${benchmark}/${variantOf(job)}`)) jobs.push(job);
        }
  const scratch = await startScratchServer('retain-results-quantization');
  process.env.TEMPORAL_ADDRESS = scratch.server.address;
  const harness = await createHarness('results-quantization');
  const started = Date.now();
  const meta = (): Meta => ({
    generated: new Date().toISOString(),
    command: `npm run results:quantization -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    quick: args.quick,
    seeds: args.seeds,
    sizes: args.quick ? SIZES.quick : SIZES.full,
    parallel: args.parallel,
    wallSeconds: (Date.now() - started) / 1000,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  });
  const cells: Cell[] = [];
  const failures: string[] = [];
  try {
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const name = `${job.benchmark} / ${variantOf(job)} / seed ${job.seed}`;
        const t0 = Date.now();
        try {
          const result = await harness.run(specOf(job, args.quick));
          const seconds = (Date.now() - t0) / 1000;
          cells.push({ ...job, seconds, result });
          const m = result.metrics;
          console.log(
            `${name}: fp32 ACC ${m.fp32.acc.toFixed(4)}, rtn-int4 ACC ${m['rtn-int4']?.acc.toFixed(4)} ` +
              `(${seconds.toFixed(0)} s, total ${((Date.now() - started) / 60000).toFixed(1)} min)`,
          );
        } catch (err) {
          // A failed run (e.g. a diverging loss) is reported with its reason, never averaged in.
          failures.push(`${name}: ${causeOf(err)}`);
          console.log(`${name}: FAILED ${causeOf(err)}`);
        }
        await write(args, meta(), cells, failures);
      }
    };
    // Runs wait on orchestration and onnxruntime's own threads part of the time: a second lane keeps both cores busy.
    await Promise.all(Array.from({ length: args.parallel }, lane));
    await write(args, meta(), cells, failures);
    console.log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min; wrote ${args.out}/quantization.{md,json}`);
  } finally {
    await harness.close();
    await scratch.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
