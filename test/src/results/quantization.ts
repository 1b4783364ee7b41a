/**
 * `npm run results:quantization [-- --quick]`: regenerates docs/results/quantization.md and
 * quantization.json. For permuted and split Fashion-MNIST, each method Retain has among naive,
 * EWC and replay, and 3 seeds, it runs one experiment through the real CLI (`retain run`: Temporal,
 * worker, workflow) with fp32 and RTN int8 / RTN int4 (per-channel and block 32) / HQQ int4 /
 * GPTQ int4 (per-channel and block 32), then aggregates mean and standard deviation over seeds.
 * Minutes to hours: not part of CI. `--quick` (1 seed, 2 small tasks) checks the pipeline.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExperimentResult } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';

const ROOT = resolve(__dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/bin/retain.js');
const quick = process.argv.includes('--quick');
const SEEDS = quick ? [0] : [0, 1, 2];
const WANTED_METHODS = ['naive', 'ewc', 'replay'];

const QUANTIZERS = [
  { name: 'rtn', config: { bits: 8 } },
  { name: 'rtn', config: { bits: 4 } },
  { name: 'rtn', config: { bits: 4, granularity: 'block', blockSize: 32 } },
  { name: 'hqq', config: {} },
  { name: 'gptq', config: {} },
  { name: 'gptq', config: { granularity: 'block', blockSize: 32 } },
];

const BENCHMARKS = {
  'permuted-fmnist': quick ? { tasks: 2, trainPerTask: 2000, testPerTask: 500 } : { tasks: 5, trainPerTask: 10000, testPerTask: 2000 },
  'split-fmnist': quick
    ? { tasks: 2, mode: 'task-il', trainPerTask: 2000, testPerTask: 500 }
    : { tasks: 5, mode: 'task-il', testPerTask: 2000 },
};

interface Cell {
  benchmark: string;
  method: string;
  seed: number;
  seconds: number;
  result: ExperimentResult;
}

async function main(): Promise<void> {
  const registered = new Set(
    defaultRegistry()
      .list()
      .filter((p) => p.kind === 'method')
      .map((p) => p.name),
  );
  const methods = WANTED_METHODS.filter((m) => registered.has(m));
  const missing = WANTED_METHODS.filter((m) => !registered.has(m));
  const work = mkdtempSync(join(tmpdir(), 'retain-results-'));
  const cells: Cell[] = [];
  for (const [benchmark, config] of Object.entries(BENCHMARKS))
    for (const method of methods)
      for (const seed of SEEDS) {
        const name = `results-${benchmark}-${method}-s${seed}`;
        const spec = {
          name,
          seed,
          benchmark: { name: benchmark, config },
          model: { name: 'mlp', config: { hidden: [256, 256] } },
          trainer: { name: 'supervised', config: { epochs: 1, batchSize: 128, lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } } },
          method,
          quantizers: QUANTIZERS,
          execution: { taskQueue: `results-${process.pid}` },
        };
        const specPath = join(work, `${name}.json`);
        writeFileSync(specPath, JSON.stringify(spec)); // JSON is YAML
        const out = join(work, name);
        const started = Date.now();
        process.stderr.write(`${name} ... `);
        await retain(['run', specPath, '--out', out]);
        const seconds = (Date.now() - started) / 1000;
        process.stderr.write(`${seconds.toFixed(0)} s\n`);
        cells.push({ benchmark, method, seed, seconds, result: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) });
        await write(cells, methods, missing); // after every run, so a long sweep that stops keeps what it measured
      }
  process.stderr.write(`wrote docs/results/quantization.md and quantization.json\n`);
}

async function write(cells: Cell[], methods: string[], missing: string[]): Promise<void> {
  const summary = summarize(cells);
  const dir = join(ROOT, 'docs/results');
  mkdirSync(dir, { recursive: true });
  const meta = {
    generated: new Date().toISOString(),
    quick,
    seeds: SEEDS,
    methods,
    missingMethods: missing,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
  };
  writeFileSync(
    join(dir, 'quantization.json'),
    `${JSON.stringify({ ...meta, summary, runs: cells.map(({ result, ...c }) => ({ ...c, runId: result.runId, matrices: result.matrices, quantization: result.quantization, metrics: result.metrics })) }, null, 2)}\n`,
  );
  writeFileSync(join(dir, 'quantization.md'), markdown(meta, summary, cells));
  await prettier([join(dir, 'quantization.json'), join(dir, 'quantization.md')]); // the repository's format check covers docs/
}

interface Stat {
  mean: number;
  sd: number;
  n: number;
}
type Row = Record<'acc' | 'bwt' | 'forgetting' | 'accGap' | 'meanGap' | 'qif' | 'crossing' | 'bytes', Stat | null>;

function summarize(cells: Cell[]): Record<string, Record<string, Row>> {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) groups.set(`${c.benchmark} / ${c.method}`, [...(groups.get(`${c.benchmark} / ${c.method}`) ?? []), c]);
  const out: Record<string, Record<string, Row>> = {};
  for (const [key, group] of groups) {
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
        accGap: stat(group.map((c) => q(c)?.accGap ?? null)),
        meanGap: stat(group.map((c) => q(c)?.meanGap ?? null)),
        qif: stat(group.map((c) => q(c)?.quantizationInducedForgetting ?? null)),
        crossing: stat(group.map(crossing)),
        bytes: stat(group.map((c) => q(c)?.bytes.at(-1) ?? null)),
      };
    }
  }
  return out;
}

function stat(values: (number | null)[]): Stat | null {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, n: xs.length };
}

function markdown(
  meta: { generated: string; quick: boolean; seeds: number[]; methods: string[]; missingMethods: string[]; cpu: string; cores: number },
  summary: Record<string, Record<string, Row>>,
  cells: Cell[],
): string {
  const f = (s: Stat | null, digits = 4) =>
    s === null ? 'n/a' : s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits);
  const lines = [
    '# Quantization and forgetting: results',
    '',
    `Generated ${meta.generated} by \`npm run results:quantization${meta.quick ? ' -- --quick' : ''}\` on ${meta.cpu} (${meta.cores} cores).`,
    `Seeds: ${meta.seeds.join(', ')}; values are mean ± sample standard deviation over seeds.`,
    meta.missingMethods.length
      ? `Not run (no such method plugin yet): ${meta.missingMethods.join(', ')}; QAT variants are not implemented yet.`
      : 'QAT variants are not implemented yet.',
    meta.quick ? '**Quick mode: 2 small tasks, 1 seed. A pipeline check, not a result.**' : '',
    '',
    'Columns: ACC, BWT, Forgetting (DESIGN.md §6) of each model; ACC gap = ACC(fp32) - ACC(quantized);',
    'mean gap = mean over all cells of fp32 - quantized; QIF = quantization-induced forgetting =',
    'forgetting(quantized) - forgetting(fp32); crossing = mean bucket-crossing rate over tasks 1..T-1;',
    'bytes = ONNX model size (one head) after the last task.',
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
    const gap = (v: string) => rows[v]?.meanGap?.mean;
    const checks: [string, boolean | undefined][] = [
      ['int8 close to fp32 (|ACC gap| < 0.01)', rows['rtn-int8']?.accGap ? Math.abs(rows['rtn-int8'].accGap.mean) < 0.01 : undefined],
      [
        'GPTQ int4 gap < RTN int4 gap (per-channel)',
        gap('gptq-int4') !== undefined && gap('rtn-int4') !== undefined ? gap('gptq-int4')! < gap('rtn-int4')! : undefined,
      ],
      [
        'GPTQ int4 gap < RTN int4 gap (block 32)',
        gap('gptq-int4-block32') !== undefined && gap('rtn-int4-block32') !== undefined
          ? gap('gptq-int4-block32')! < gap('rtn-int4-block32')!
          : undefined,
      ],
      ['QAT int4 gap < post-training int4 gap', undefined],
    ];
    lines.push('', 'Expectations from the literature (checked, not tuned to):', '');
    for (const [what, holds] of checks)
      lines.push(`- ${what}: ${holds === undefined ? 'not measured' : holds ? 'holds' : '**does not hold**'}`);
    lines.push('');
  }
  lines.push('## Wall time per run', '', '| run | seconds |', '| --- | --- |');
  for (const c of cells) lines.push(`| ${c.benchmark} / ${c.method} / seed ${c.seed} | ${c.seconds.toFixed(0)} |`);
  lines.push('');
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
}

function prettier(files: string[]): Promise<void> {
  return run(join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), ['--write', ...files]);
}

function retain(args: string[]): Promise<void> {
  return run(CLI, args);
}

function run(script: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done() : fail(new Error(`${script} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`)),
    );
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
