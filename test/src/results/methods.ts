/**
 * `npm run results:methods`: the methods sweep. Every (scenario, method, seed) cell runs through
 * the real product path (embedded Temporal dev server, a Retain worker, the experiment workflow,
 * onnxruntime), as `retain run` does; the results are aggregated into mean +- std of ACC, BWT,
 * FWT and forgetting and written to docs/results/methods.json (the required shape) and
 * docs/results/methods.md (tables, the command, the sizes, the machine, the wall time), with each
 * quantizer's metrics in docs/results/methods-quantized.json and every finished run's accuracy
 * matrices (fp32 and each quantizer, per seed) in docs/results/methods-matrices.json. Not run in CI.
 *
 * Flags: --profile quick|standard|full (default standard), --seeds 0,1,2, --only naive,ewc,
 * --scenarios permuted-fmnist,split-fmnist-class-il, --parallel N (runs at once, default 6),
 * --out DIR (default docs/results).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExperimentResult, ExperimentSpec } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { createHarness } from '../harness';
import { startScratchServer } from '../scratch-server';

const METHODS = ['naive', 'ewc', 'online-ewc', 'si', 'lwf', 'replay', 'agem', 'pnn', 'adaptive-lr', 'joint'] as const;
type Method = (typeof METHODS)[number];
const SCENARIOS = ['permuted-fmnist', 'split-fmnist-task-il', 'split-fmnist-class-il'] as const;
type Scenario = (typeof SCENARIOS)[number];
const METRICS = ['acc', 'bwt', 'fwt', 'forgetting'] as const;
type Metric = (typeof METRICS)[number];

/**
 * Sizes per task. `standard` (250 SGD steps per task) is the sweep to commit. Measured at 10000
 * samples per task, 5 runs at once on 2 cores shared with other jobs (load 10-12), seed 0: naive
 * and joint ~200 s per permuted run, 115-140 s per split run (joint keeps the trainer's step
 * count, so it costs what naive does); ewc, agem and pnn ~1.7x that (348 s permuted, 272-286 s
 * task-IL). Summed over 10 methods x 3 seeds x 3 scenarios at 6 runs at once that is ~55 min,
 * so `standard` takes 8000 samples: ~45-50 min. `quick` (31 steps per task) is a smoke test;
 * `full` is the setting on the whole data.
 */
const PROFILES = {
  quick: { trainPerTask: 1000, testPerTask: 500, epochs: 1, hidden: 64, batchSize: 32 },
  standard: { trainPerTask: 8000, testPerTask: 2000, epochs: 1, hidden: 128, batchSize: 32 },
  full: { trainPerTask: 60000, testPerTask: 10000, epochs: 1, hidden: 256, batchSize: 128 },
} as const;
type Profile = keyof typeof PROFILES;

/** Cells that cannot run, and why (the plugins refuse them). */
function notApplicable(scenario: Scenario, method: Method): string | undefined {
  if (scenario !== 'split-fmnist-task-il' && method === 'pnn')
    return 'pnn (model pnn-mlp) needs a head per task and the task id at test time: task-IL only';
  return undefined;
}

function specOf(scenario: Scenario, method: Method, seed: number, profile: Profile): ExperimentSpec {
  const p = PROFILES[profile];
  const sizes = { trainPerTask: p.trainPerTask, testPerTask: p.testPerTask };
  const benchmark =
    scenario === 'permuted-fmnist'
      ? { name: 'permuted-fmnist', config: { tasks: 10, ...sizes } }
      : { name: 'split-fmnist', config: { tasks: 5, mode: scenario === 'split-fmnist-task-il' ? 'task-il' : 'class-il', ...sizes } };
  return defaultRegistry().validateSpec({
    name: `results-${scenario}-${method}`,
    seed,
    benchmark,
    model: { name: method === 'pnn' ? 'pnn-mlp' : 'mlp', config: { hidden: [p.hidden] } },
    trainer: {
      name: 'supervised',
      config: { epochs: p.epochs, batchSize: p.batchSize, lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } },
    },
    method: { name: method, config: {} },
    quantizers: [
      { name: 'rtn', config: { bits: 8 } },
      { name: 'rtn', config: { bits: 4 } },
    ],
  });
}

interface Args {
  profile: Profile;
  seeds: number[];
  methods: Method[];
  scenarios: Scenario[];
  out: string;
  /** Runs in flight at once (a method's seeds always run together). */
  parallel: number;
}

function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim());
  for (const item of items)
    if (!allowed.includes(item as T)) throw new Error(`${flag}: unknown '${item}'; choose from ${allowed.join(', ')}`);
  return items as T[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    profile: 'standard',
    seeds: [0, 1, 2],
    methods: [...METHODS],
    scenarios: [...SCENARIOS],
    out: resolve(__dirname, '../../../docs/results'),
    parallel: 6,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    if (flag === '--profile') args.profile = listOf(flag, value, Object.keys(PROFILES) as Profile[])[0];
    else if (flag === '--seeds') args.seeds = value.split(',').map(Number);
    else if (flag === '--only') args.methods = listOf(flag, value, METHODS);
    else if (flag === '--scenarios') args.scenarios = listOf(flag, value, SCENARIOS);
    else if (flag === '--out') args.out = resolve(value);
    else if (flag === '--parallel') args.parallel = Number(value);
    else throw new Error(`unknown flag '${flag}': use --profile, --seeds, --only, --scenarios, --parallel, --out`);
  }
  if (!args.seeds.length || args.seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new Error('--seeds: give non-negative integers separated by commas, e.g. 0,1,2');
  return args;
}

interface Stat {
  mean: number;
  std: number;
}

/** Sample standard deviation (n - 1); 0 for one seed. */
function stat(xs: number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: round(mean), std: round(std) };
}

const round = (x: number) => Number(x.toFixed(4));

/** The innermost message of a workflow failure (WorkflowFailedError -> ActivityFailure -> the plugin's error). */
function causeOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return String(e?.message ?? err).split('\n')[0];
}

type MetricStats = Record<Metric, Stat>;

/** What a sweep has measured so far, keyed scenario -> method; written out after every cell. */
interface Sweep {
  /** fp32 metrics (null: not applicable, or every seed failed). */
  results: Record<string, Record<string, MetricStats | null>>;
  /** Each quantizer's metrics. */
  quantized: Record<string, Record<string, Record<string, MetricStats> | null>>;
  /** Why a cell cannot run. */
  na: Record<string, Record<string, string>>;
  /** 'seed s: why' for each run that failed. */
  failed: Record<string, Record<string, string[]>>;
  /** Each finished seed's accuracy matrices, one per model (fp32 and each quantizer). */
  matrices: Record<string, Record<string, { seed: number; matrices: ExperimentResult['matrices'] }[]>>;
  /** Model keys of the results: fp32 and one per quantizer. */
  models: string[];
  started: number;
}

function aggregate(runs: ExperimentResult[], model: string): MetricStats {
  const out = {} as MetricStats;
  for (const m of METRICS) out[m] = stat(runs.map((r) => r.metrics[model][m] ?? NaN));
  return out;
}

const fmt = (s: Stat) => `${s.mean >= 0 ? ' ' : ''}${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}`;

function markdown(args: Args, { results, quantized, na, failed, models, started }: Sweep): string {
  const wallSeconds = (Date.now() - started) / 1000;
  const p = PROFILES[args.profile];
  const cmd = ['npm run results:methods --', `--profile ${args.profile}`, `--seeds ${args.seeds.join(',')}`];
  if (args.methods.length < METHODS.length) cmd.push(`--only ${args.methods.join(',')}`);
  if (args.scenarios.length < SCENARIOS.length) cmd.push(`--scenarios ${args.scenarios.join(',')}`);
  const lines = [
    '# Methods against forgetting: the sweep',
    '',
    'Generated by `test/src/results/methods.ts`; do not edit by hand (the "Reading the numbers" section',
    'at the end is written by hand and kept by the generator).',
    '',
    `Command: \`${cmd.join(' ')}\``,
    '',
    `- Profile \`${args.profile}\`: ${p.trainPerTask} training and ${p.testPerTask} test samples per task, ` +
      `${p.epochs} epoch(s), batch ${p.batchSize}, SGD lr 0.01 momentum 0.9, MLP 784-${p.hidden}-out ` +
      '(pnn: pnn-mlp, a column of that size per task); every method with its default config (see its README).',
    `- Seeds: ${args.seeds.join(', ')}; mean ± sample std over seeds.`,
    '- Scenarios: permuted-fmnist (10 tasks, domain-IL), split-fmnist-task-il and split-fmnist-class-il (5 tasks of 2 classes).',
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, shared with other jobs; Node ${process.version}.`,
    `- Wall time: ${(wallSeconds / 60).toFixed(1)} min for the whole sweep.`,
    '',
    'Each cell runs through the real workflow and worker (embedded Temporal dev server), quantized',
    'after each task with RTN int8 and int4. "n/a": the plugin refuses the scenario (reason below);',
    'such cells are `null` in methods.json, as are cells whose every seed failed (listed under the table).',
    "Each run's accuracy matrices (fp32 and each quantizer, per seed) are in methods-matrices.json.",
    '',
  ];
  for (const scenario of args.scenarios) {
    for (const model of models) {
      lines.push(`## ${scenario}, ${model}`, '', '| method | ACC | BWT | FWT | forgetting |', '| --- | --- | --- | --- | --- |');
      for (const method of args.methods) {
        const cell = model === 'fp32' ? results[scenario][method] : (quantized[scenario][method]?.[model] ?? null);
        if (!cell) lines.push(`| ${method} | n/a | n/a | n/a | n/a |`);
        else lines.push(`| ${method} | ${METRICS.map((m) => fmt(cell[m])).join(' | ')} |`);
      }
      lines.push('');
    }
    const reasons = Object.entries(na[scenario] ?? {});
    if (reasons.length) lines.push(...reasons.map(([m, why]) => `- n/a ${m}: ${why}`), '');
    const failures = Object.entries(failed[scenario] ?? {});
    if (failures.length)
      lines.push(...failures.map(([m, whys]) => `- failed runs of ${m} (left out of its mean; n/a if all failed): ${whys.join('; ')}`), '');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scratch = await startScratchServer('retain-results-methods');
  const { server } = scratch;
  process.env.TEMPORAL_ADDRESS = server.address;
  const harness = await createHarness('results-methods');
  const sweep: Sweep = { results: {}, quantized: {}, na: {}, failed: {}, matrices: {}, models: ['fp32'], started: Date.now() };
  const { results, quantized, na, failed, matrices, started } = sweep;
  try {
    const cells: { scenario: Scenario; method: Method }[] = [];
    for (const scenario of args.scenarios) {
      results[scenario] = {};
      quantized[scenario] = {};
      na[scenario] = {};
      for (const method of args.methods) {
        const why = notApplicable(scenario, method);
        results[scenario][method] = null;
        quantized[scenario][method] = null;
        if (why) na[scenario][method] = why;
        else cells.push({ scenario, method });
      }
    }
    // Runs spend much of their time waiting on orchestration, not computing: several at once
    // keep the cores busy. Each run is a pure function of its spec and seed, so order is moot.
    const runCell = async ({ scenario, method }: { scenario: Scenario; method: Method }) => {
      const settled = await Promise.allSettled(
        args.seeds.map(async (seed) => {
          const t0 = Date.now();
          const r = await harness.run(specOf(scenario, method, seed, args.profile));
          const m = r.metrics.fp32;
          console.log(
            `${scenario} ${method} seed ${seed}: acc ${m.acc.toFixed(4)} bwt ${m.bwt?.toFixed(4)} fwt ${m.fwt?.toFixed(4)} ` +
              `forgetting ${m.forgetting?.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(1)} s, total ${((Date.now() - started) / 60000).toFixed(1)} min)`,
          );
          return r;
        }),
      );
      // A failed run (e.g. a diverging loss) is reported with its reason, never averaged in.
      const runs = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      settled.forEach((s, k) => {
        if (s.status === 'rejected') {
          const why = causeOf(s.reason);
          console.log(`${scenario} ${method} seed ${args.seeds[k]}: FAILED ${why}`);
          (failed[scenario] ??= {})[method] = [...(failed[scenario]?.[method] ?? []), `seed ${args.seeds[k]}: ${why}`];
        }
      });
      if (!runs.length) return;
      (matrices[scenario] ??= {})[method] = settled.flatMap((s, k) =>
        s.status === 'fulfilled' ? [{ seed: args.seeds[k], matrices: s.value.matrices }] : [],
      );
      sweep.models = Object.keys(runs[0].metrics);
      results[scenario][method] = aggregate(runs, 'fp32');
      quantized[scenario][method] = Object.fromEntries(sweep.models.filter((k) => k !== 'fp32').map((k) => [k, aggregate(runs, k)]));
      write(args, sweep);
    };
    let next = 0;
    const lanes = Array.from({ length: Math.max(1, Math.floor(args.parallel / args.seeds.length)) }, async () => {
      while (next < cells.length) await runCell(cells[next++]);
    });
    await Promise.all(lanes);
    write(args, sweep);
    console.log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min; written to ${args.out}`);
  } finally {
    await harness.close();
    await scratch.close();
  }
}

const HAND_WRITTEN = '## Reading the numbers';

/** The hand-written analysis at the end of an earlier methods.md, kept across regenerations. */
function handWritten(path: string): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf(HAND_WRITTEN);
  return at < 0 ? '' : `\n${text.slice(at)}`;
}

/** Written after every cell, so an interrupted sweep leaves every finished cell on disk. */
function write(args: Args, sweep: Sweep): void {
  const { results, quantized, matrices } = sweep;
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'methods.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(args.out, 'methods-quantized.json'), `${JSON.stringify(quantized, null, 2)}\n`);
  writeFileSync(join(args.out, 'methods-matrices.json'), `${JSON.stringify(matrices)}\n`);
  const md = join(args.out, 'methods.md');
  writeFileSync(md, `${markdown(args, sweep)}\n${handWritten(md)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
