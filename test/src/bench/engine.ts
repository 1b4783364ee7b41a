/**
 * `npm run bench:engine`: how close the engine's training step comes to ORT's own MatMul speed on
 * this machine, and to PyTorch eager on the same CPU. Writes .bench/engine.json and prints a table.
 *
 *   node test/dist/bench/engine.js [--threads N] [--spin] [--seconds S] [--only mlp-784-400-400-10,...] [--k 1,8]
 *                                  [--device cpu|cuda:N|webgpu] [--steps-per-run K] [--mixed-precision fp16|bf16] [--out NAME]
 *
 * - ceiling: the best GFLOP/s of a square MatMul (512..2048) run by ORT through the engine's own
 *   session (same worker thread, same thread count).
 * - each run: one fused step graph (forward, loss, backward, update) on random data of the
 *   model's shape; samples/s is the best of several short timed windows after a warm-up (the
 *   machine may be shared, and the best window is the least disturbed). GFLOP/s counts the MatMul FLOPs of the
 *   step exactly (2*M*N*K for each product of forward and backward; elementwise work is not
 *   counted), so fractionOfCeiling compares like with like.
 * - stepsPerRun: the same SGD step as one-step runs and as K steps per run, both as an unrolled
 *   K-step graph and as the Scan graph (stepsPerRun 'any', what the supervised trainer uses on the
 *   CPU), timing windows alternating, for the models at batch 128 but the transformer (its
 *   unrolled graphs take long to build): samples/s per K and graph, and the load time of each graph.
 * - causal-lm-6m: the causal-lm plugin's layout (RMSNorm, rotary, SwiGLU, tied) at width 256,
 *   depth 8, 8 heads (6.4M params), context 256, batch 16: every position is predicted, so a step
 *   trains 4096 tokens; tokensPerSec = samplesPerSec * context.
 * - torch: test/bench/torch_engine.py with the same model, batch, optimizer and thread count, run
 *   by the Python in $RETAIN_BENCH_PYTHON or .retain/bench-venv (columns are null without torch).
 * - --device: ORT's sessions on a GPU (torch then runs on CUDA too, for cuda:N); --steps-per-run K:
 *   the main rows train K steps per graph run (unrolled), so parameters and optimizer state cross
 *   the runtime boundary once per K steps. hostDeviceBytesPerStep counts what every run fed
 *   onnxruntime and took back (TrainSession.traffic): on CUDA, what crossed PCIe.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism, cpus } from 'node:os';
import {
  buildStepGraph,
  causalLm,
  cnn,
  Graph,
  GraphSession,
  initOptimizerState,
  initParams,
  matmul,
  mlp,
  mlpHidden,
  Rng,
  parseDevice,
  TrainSession,
  transformer,
  type Device,
  type Model,
  type OptimizerConfig,
  type StepGraphSpec,
  numel,
} from '@retain/engine';
import { writeBenchReport } from './report';

type ModelName = 'mlp-784-400-400-10' | 'mlp-784-4096-4096-10' | 'cnn-small' | 'transformer-tiny' | 'causal-lm-6m';
type OptimizerName = 'sgd' | 'adam';

interface BenchRun {
  model: ModelName;
  optimizer: OptimizerName;
  batch: number;
  samplesPerSec: number;
  /** Tokens trained per second (samplesPerSec * context) for a model predicting every position; null otherwise. */
  tokensPerSec: number | null;
  stepMs: number;
  gflops: number;
  fractionOfCeiling: number;
  torchSamplesPerSec: number | null;
  /** samplesPerSec / torchSamplesPerSec */
  vsTorch: number | null;
  /** Rates per second of process CPU time (one thread only; see bestRate): robust on a shared machine. */
  samplesPerCpuSec: number | null;
  torchSamplesPerCpuSec: number | null;
  /** Steps per graph run of this row (--steps-per-run). */
  stepsPerRun: number;
  /** Bytes fed to onnxruntime and taken back per training step, averaged over the timed runs. */
  hostDeviceBytesPerStep: number;
}

/** One model's SGD step run K steps per graph run (K = 1: the plain one-step graph). */
interface StepsPerRunRun {
  model: ModelName;
  optimizer: OptimizerName;
  batch: number;
  stepsPerRun: number;
  /** 'unrolled': K copies of the step in one graph; 'scan': the step as a Scan body (any K). */
  graph: 'one-step' | 'unrolled' | 'scan';
  /** Building the graph and loading it into onnxruntime. */
  loadMs: number;
  samplesPerSec: number;
  /** samplesPerSec / the K = 1 rate of the same model, measured in alternating windows. */
  vsOneStep: number;
  samplesPerCpuSec: number | null;
}

interface ModelCase {
  name: ModelName;
  build: () => Model;
  /** MatMul FLOPs of one training step (forward + backward) at this batch size. */
  stepFlops: (batch: number) => number;
  /** What torch_engine.py builds (the same layers, so the same FLOPs). */
  torch: Record<string, unknown> & { kind: 'mlp' | 'lenet' | 'transformer' | 'causal-lm' };
  /** Draws one input value (pixels, or token ids as float32). */
  draw?: (rng: Rng) => number;
  batches: number[];
  /** Tokens per sample when every one is a training target (a causal LM's context). */
  tokens?: number;
}

/** Optimizers as benchmarked: plain SGD (no momentum) and Adam with torch's defaults. */
const OPTIMIZERS: Record<OptimizerName, OptimizerConfig> = { sgd: { name: 'sgd' }, adam: { name: 'adam' } };
const LR = 0.01;

function mlpCase(name: ModelName, sizes: number[], batches: number[]): ModelCase {
  const layers = sizes.slice(1).map((out, i) => sizes[i] * out);
  const sum = layers.reduce((a, b) => a + b, 0);
  return {
    name,
    build: () => mlp({ inputSize: sizes[0], hidden: sizes.slice(1, -1), classesPerHead: sizes[sizes.length - 1], heads: 1 }),
    // forward x@W per layer; backward dW = x^T@dy per layer and dx = dy@W^T for every layer but
    // the first (no gradient flows to the input batch).
    stepFlops: (b) => 2 * b * (sum + sum + (sum - layers[0])),
    torch: { kind: 'mlp', sizes },
    batches,
  };
}

/** LeNet-5 on 28x28 Fashion-MNIST images (the cnn plugin's default). */
const cnnSmall: ModelCase = {
  name: 'cnn-small',
  build: () => cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 10, heads: 1 }),
  stepFlops: (b) => {
    const conv1 = 2 * b * 6 * 28 * 28 * 1 * 25; // 5x5, pad 2
    const conv2 = 2 * b * 16 * 10 * 10 * 6 * 25; // 5x5 on 14x14
    const fc = 2 * b * (400 * 120 + 120 * 84 + 84 * 10);
    // forward, weight gradients, input gradients for every layer but the first
    return 3 * (conv1 + conv2 + fc) - conv1;
  },
  torch: { kind: 'lenet' },
  batches: [128],
};

/** The transformer plugin's defaults (width 64, depth 2, 4 heads) on 64-byte windows, 256 classes. */
const TF = { B: 0, T: 64, D: 64, depth: 2, H: 4, ratio: 4, vocab: 256 };
const transformerTiny: ModelCase = {
  name: 'transformer-tiny',
  build: () => transformer({ vocab: TF.vocab, context: TF.T, width: TF.D, depth: TF.depth, attentionHeads: TF.H, heads: 1 }),
  stepFlops: (b) => {
    const { T, D, depth, ratio, vocab } = TF;
    const block = 2 * b * T * (D * 3 * D + D * D + 2 * D * ratio * D) + 2 * (2 * b * T * T * D); // projections + QK^T and AV
    // forward, then each product's two gradients (weights or the other activation); the head
    // reads the last position only
    return 3 * (depth * block + 2 * b * D * vocab);
  },
  torch: { kind: 'transformer', context: TF.T, width: TF.D, depth: TF.depth, heads: TF.H, ratio: TF.ratio, vocab: TF.vocab },
  draw: (rng) => rng.int(TF.vocab),
  batches: [128],
};

/** The causal-lm plugin's layout at about 6M parameters: context 256, next-token loss at every position. */
const LM = { T: 256, D: 256, depth: 8, H: 8, vocab: 256 };
const causalLm6m: ModelCase = {
  name: 'causal-lm-6m',
  build: () => causalLm({ vocab: LM.vocab, context: LM.T, width: LM.D, depth: LM.depth, attentionHeads: LM.H }),
  stepFlops: (b) => {
    const { T, D, depth, H, vocab } = LM;
    const hidden = mlpHidden({ width: D });
    const dh = D / H;
    // qkv, output projection, SwiGLU's three matrices; QK^T and AV; the rotary half-turn (x @ R)
    // of queries and keys; the tied output matrix at every position
    const block = 2 * b * T * (D * 3 * D + D * D + 3 * D * hidden) + 2 * (2 * b * T * T * D) + 2 * (2 * b * T * D * dh);
    return 3 * (depth * block + 2 * b * T * D * vocab);
  },
  torch: {
    kind: 'causal-lm',
    context: LM.T,
    width: LM.D,
    depth: LM.depth,
    heads: LM.H,
    hidden: mlpHidden({ width: LM.D }),
    vocab: LM.vocab,
  },
  draw: (rng) => rng.int(LM.vocab),
  batches: [16],
  tokens: LM.T,
};

const MODELS: ModelCase[] = [
  mlpCase('mlp-784-400-400-10', [784, 400, 400, 10], [128, 1024]),
  mlpCase('mlp-784-4096-4096-10', [784, 4096, 4096, 10], [1024]),
  cnnSmall,
  transformerTiny,
  causalLm6m,
];

interface Args {
  device: Device;
  /** The step graphs' matrix products in float16 or bfloat16 (StepGraphSpec.mixedPrecision); absent: float32. */
  mixedPrecision?: 'fp16' | 'bf16';
  /** Steps per graph run of the main rows. */
  mainK: number;
  /** The report's name: .bench/<out>.json. */
  out: string;
  threads: number;
  spinning: boolean;
  seconds: number;
  only?: string[];
  stepsPerRun: number[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    device: 'cpu',
    mainK: 1,
    out: 'engine',
    threads: availableParallelism(),
    spinning: false,
    seconds: 0.5,
    stepsPerRun: [1, 8],
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--spin') {
      args.spinning = true;
      continue;
    }
    if (argv[i] === '--threads') args.threads = Number(value);
    else if (argv[i] === '--seconds') args.seconds = Number(value);
    else if (argv[i] === '--only') args.only = value.split(',');
    else if (argv[i] === '--k') args.stepsPerRun = [...new Set([1, ...value.split(',').map(Number)])].sort((a, b) => a - b);
    else if (argv[i] === '--device') args.device = parseDevice(value, '--device');
    else if (argv[i] === '--steps-per-run') args.mainK = Number(value);
    else if (argv[i] === '--out') args.out = value;
    else if (argv[i] === '--mixed-precision') {
      if (value !== 'fp16' && value !== 'bf16') throw new Error(`--mixed-precision must be fp16 or bf16, got '${value}'`);
      args.mixedPrecision = value;
    } else
      throw new Error(
        `bench:engine: unknown argument '${argv[i]}'; use --threads N, --spin, --seconds S, --only a,b, --k 1,8, --device D, --steps-per-run K, --mixed-precision fp16|bf16, --out NAME`,
      );
    i++;
  }
  if (!Number.isInteger(args.threads) || args.threads < 1) throw new Error(`--threads must be a positive integer`);
  if (!args.stepsPerRun.every((k) => Number.isInteger(k) && k >= 1)) throw new Error(`--k must list positive integers`);
  if (!Number.isInteger(args.mainK) || args.mainK < 1) throw new Error(`--steps-per-run must be a positive integer`);
  return args;
}

/**
 * Calls per second of each of `onces`, from the least disturbed of several short windows (the
 * machine may be shared; a window another process interrupted is slower, never faster): rounds
 * of one window of >= `seconds` per function, alternating, so that all see the same machine; at
 * least 3 rounds, more while the total stays under 6 * `seconds` per function. `cpu` is the same
 * rate per second of this process's CPU time, which time slices lost to other processes do not
 * count (meaningful with one ORT thread: more threads spin while they wait, which counts as CPU).
 */
async function bestRates(onces: (() => Promise<unknown>)[], seconds: number): Promise<{ wall: number; cpu: number }[]> {
  for (const once of onces) for (let i = 0; i < 2; i++) await once(); // warm-up: first runs allocate
  const best = onces.map(() => ({ wall: 0, cpu: 0 }));
  const started = process.hrtime.bigint();
  const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
  for (let round = 0; round < 3 || since(started) < 6 * seconds * onces.length; round++)
    for (const [k, once] of onces.entries()) {
      let calls = 0;
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      while (since(start) < seconds || calls < 1) {
        await once();
        calls++;
      }
      const used = process.cpuUsage(cpuStart);
      best[k].wall = Math.max(best[k].wall, calls / since(start));
      best[k].cpu = Math.max(best[k].cpu, calls / ((used.user + used.system) / 1e6));
    }
  return best;
}

async function matmulCeiling({ threads, spinning, seconds, device }: Args): Promise<{ n: number; gflops: number; cpuGflops: number }[]> {
  const out = [];
  for (const n of [512, 1024, 2048]) {
    const g = new Graph(`matmul-${n}`);
    g.output('c', matmul(g.input('a', [n, n]), g.input('b', [n, n])));
    const rng = new Rng(n);
    const values = () => ({ dtype: 'float32' as const, dims: [n, n], data: Float32Array.from({ length: n * n }, () => rng.normal()) });
    const session = await GraphSession.create(g.toBytes(), { a: values(), b: values() }, { threads, spinning, device });
    try {
      const [rate] = await bestRates([() => session.run({}, { fetch: [] })], seconds);
      out.push({ n, gflops: (rate.wall * 2 * n * n * n) / 1e9, cpuGflops: (rate.cpu * 2 * n * n * n) / 1e9 });
    } finally {
      await session.close();
    }
  }
  return out;
}

interface EngineRate {
  wall: number;
  cpu: number;
  bytesPerStep: number;
}

/** samples/s of SGD and Adam steps (K per run) on the same batches, their timing windows alternating. */
async function engineRates(c: ModelCase, batch: number, args: Args): Promise<Record<OptimizerName, EngineRate>> {
  const model = c.build();
  const features = numel(model.inputDims);
  const rng = new Rng(7);
  const K = args.mainK;
  // A causal LM takes a label per position; a K-step run takes K batches.
  const labels = K * batch * (model.targetsPerExample ?? 1);
  const lrs = Array<number>(K).fill(LR);
  const batches = Array.from({ length: 4 }, () => ({
    x: Float32Array.from({ length: K * batch * features }, () => (c.draw ? c.draw(rng) : rng.normal())),
    y: Int32Array.from({ length: labels }, () => rng.int(model.classesPerHead)),
  }));
  const names = Object.keys(OPTIMIZERS) as OptimizerName[];
  const sessions: TrainSession[] = [];
  try {
    for (const name of names) {
      const opt = OPTIMIZERS[name];
      const step = buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun: K, mixedPrecision: mixedPrecisionOf(args) });
      const initial = { ...initParams(model, 0), ...initOptimizerState(opt, model.params) };
      sessions.push(await TrainSession.create(step, initial, { threads: args.threads, spinning: args.spinning, device: args.device }));
    }
    const counters = sessions.map(() => 0);
    const rates = await bestRates(
      sessions.map((session, k) => async () => {
        const b = batches[counters[k]++ % batches.length];
        const losses = K === 1 ? [await session.step(b.x, b.y, batch, LR)] : Array.from(await session.steps(b.x, b.y, batch, lrs));
        if (!losses.every(Number.isFinite))
          throw new Error(`${c.name} ${names[k]}: loss became ${losses.find((l) => !Number.isFinite(l))}`);
      }),
      args.seconds,
    );
    const traffic = await Promise.all(sessions.map((s) => s.traffic()));
    return Object.fromEntries(
      names.map((n, k) => [
        n,
        {
          wall: rates[k].wall * K * batch,
          cpu: rates[k].cpu * K * batch,
          bytesPerStep: (traffic[k].bytesIn + traffic[k].bytesOut) / (traffic[k].runs * K),
        },
      ]),
    ) as Record<OptimizerName, EngineRate>;
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

/** samples/s of the SGD step at each K steps per run, the K's timing windows alternating. */
async function stepsPerRunRates(c: ModelCase, batch: number, args: Args): Promise<StepsPerRunRun[]> {
  const model = c.build();
  const features = numel(model.inputDims);
  const rng = new Rng(7);
  const maxK = Math.max(...args.stepsPerRun);
  const x = Float32Array.from({ length: maxK * batch * features }, () => (c.draw ? c.draw(rng) : rng.normal()));
  const y = Int32Array.from({ length: maxK * batch }, () => rng.int(model.classesPerHead));
  const opt = OPTIMIZERS.sgd;
  const initial = { ...initParams(model, 0), ...initOptimizerState(opt, model.params) };
  const variants: { k: number; graph: StepsPerRunRun['graph']; session: TrainSession; loadMs: number }[] = [];
  try {
    const load = async (k: number, graph: StepsPerRunRun['graph']) => {
      const started = Date.now();
      const step = buildStepGraph({
        model,
        head: 0,
        optimizer: opt,
        stepsPerRun: graph === 'scan' ? 'any' : k,
        mixedPrecision: mixedPrecisionOf(args),
      });
      const session = await TrainSession.create(step, initial, { threads: args.threads, spinning: args.spinning, device: args.device });
      variants.push({ k, graph, session, loadMs: Date.now() - started });
    };
    for (const k of args.stepsPerRun) {
      if (k === 1) await load(1, 'one-step');
      else for (const graph of ['unrolled', 'scan'] as const) await load(k, graph);
    }
    const rates = await bestRates(
      variants.map(({ k, session }) => {
        const [xs, ys] = [x.subarray(0, k * batch * features), y.subarray(0, k * batch)];
        const lrs = Array<number>(k).fill(LR);
        return () => (k === 1 ? session.step(xs, ys, batch, LR) : session.steps(xs, ys, batch, lrs));
      }),
      args.seconds,
    );
    return variants.map(({ k, graph, loadMs }, i) => ({
      model: c.name,
      optimizer: 'sgd',
      batch,
      stepsPerRun: k,
      graph,
      loadMs,
      samplesPerSec: rates[i].wall * k * batch,
      vsOneStep: (rates[i].wall * k) / rates[0].wall,
      samplesPerCpuSec: args.threads === 1 ? rates[i].cpu * k * batch : null,
    }));
  } finally {
    await Promise.all(variants.map((v) => v.session.close()));
  }
}

function mixedPrecisionOf(args: Args): StepGraphSpec['mixedPrecision'] {
  if (!args.mixedPrecision) return undefined;
  return { matmul: args.mixedPrecision === 'fp16' ? 'float16' : 'bfloat16' };
}

function torchPython(): string | undefined {
  const candidates = [process.env.RETAIN_BENCH_PYTHON, resolve(__dirname, '../../../.retain/bench-venv/bin/python')];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** samples/s of the same step in PyTorch eager, or null (with the reason printed) when torch cannot run. */
function torchRate(
  python: string | undefined,
  c: ModelCase,
  optimizer: OptimizerName,
  batch: number,
  args: Args,
): { samplesPerSec: number; samplesPerCpuSec: number } | null {
  if (!python) return null;
  const script = resolve(__dirname, '../../bench/torch_engine.py');
  // On a CUDA run torch trains on the same card (eager, fp32, a loss read back every step).
  const device = args.device.startsWith('cuda') ? args.device : 'cpu';
  const job = {
    model: c.torch,
    optimizer,
    batch,
    lr: LR,
    threads: args.threads,
    seconds: args.seconds,
    device,
    amp: args.mixedPrecision ?? null,
  };
  // Torch's OpenMP threads wait the way ORT's do (spin or block), so thread counts compare alike.
  const env = { ...process.env, OMP_WAIT_POLICY: args.spinning ? 'ACTIVE' : 'PASSIVE' };
  const res = spawnSync(python, [script, JSON.stringify(job)], { encoding: 'utf8', timeout: 600_000, env });
  if (res.status !== 0) {
    console.warn(
      `torch run failed for ${c.name} ${optimizer} ${batch}: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}`,
    );
    return null;
  }
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as { samplesPerSec: number; samplesPerCpuSec: number };
}

function torchVersion(python: string | undefined): string | null {
  if (!python) return null;
  const res = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  return res.status === 0 ? res.stdout.trim() : null;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const python = torchPython();
  const torch = torchVersion(python);
  if (!torch) console.warn('torch is not available: torch columns are null (install it into .retain/bench-venv, see test/bench/README.md)');
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`${cpu}, ${cpus().length} cores; ${args.threads} threads for ORT and torch; torch ${torch ?? 'n/a'}`);

  // Measured before and after the runs: on a shared machine either may be disturbed.
  const ceilings = await matmulCeiling(args);
  console.log(`ORT MatMul: ${ceilings.map((c) => `${c.n}^3 ${c.gflops.toFixed(1)}`).join(', ')} GFLOP/s`);

  const runs: BenchRun[] = [];
  for (const c of MODELS.filter((m) => !args.only || args.only.includes(m.name)))
    for (const batch of c.batches) {
      const engine = await engineRates(c, batch, args);
      for (const optimizer of ['sgd', 'adam'] as const) {
        const rate = engine[optimizer];
        const samplesPerSec = rate.wall;
        const torchRun = torch ? torchRate(python, c, optimizer, batch, args) : null;
        const torchSamplesPerSec = torchRun?.samplesPerSec ?? null;
        const oneThread = args.threads === 1;
        const gflops = (samplesPerSec / batch) * (c.stepFlops(batch) / 1e9);
        runs.push({
          model: c.name,
          optimizer,
          batch,
          samplesPerSec,
          tokensPerSec: c.tokens ? samplesPerSec * c.tokens : null,
          stepMs: (1000 * batch) / samplesPerSec,
          gflops,
          fractionOfCeiling: NaN, // once the ceiling is final
          torchSamplesPerSec,
          vsTorch: torchSamplesPerSec ? samplesPerSec / torchSamplesPerSec : null,
          samplesPerCpuSec: oneThread ? rate.cpu : null,
          torchSamplesPerCpuSec: oneThread ? (torchRun?.samplesPerCpuSec ?? null) : null,
          stepsPerRun: args.mainK,
          hostDeviceBytesPerStep: rate.bytesPerStep,
        });
        console.log(
          `${c.name} ${optimizer} batch ${batch}: ${samplesPerSec.toFixed(0)} samples/s${c.tokens ? ` (${(samplesPerSec * c.tokens).toFixed(0)} tokens/s)` : ''}, torch ${torchSamplesPerSec?.toFixed(0) ?? 'n/a'}`,
        );
      }
    }
  const stepsPerRun: StepsPerRunRun[] = [];
  if (args.stepsPerRun.length > 1)
    for (const c of MODELS.filter(
      (m) => (!args.only || args.only.includes(m.name)) && !['transformer-tiny', 'causal-lm-6m'].includes(m.name),
    ))
      for (const batch of c.batches.filter((b) => b === 128)) {
        const rows = await stepsPerRunRates(c, batch, args);
        stepsPerRun.push(...rows);
        console.log(
          `${c.name} sgd batch ${batch}: ${rows.map((r) => `K=${r.stepsPerRun} ${r.graph} x${r.vsOneStep.toFixed(2)}`).join(', ')} (vs one step per run)`,
        );
      }
  const after = await matmulCeiling(args);
  console.log(`ORT MatMul (again): ${after.map((c) => `${c.n}^3 ${c.gflops.toFixed(1)}`).join(', ')} GFLOP/s`);
  ceilings.forEach((c, i) => {
    c.gflops = Math.max(c.gflops, after[i].gflops);
    c.cpuGflops = Math.max(c.cpuGflops, after[i].cpuGflops);
  });
  const ceilingGflops = Math.max(...ceilings.map((c) => c.gflops));
  for (const r of runs) r.fractionOfCeiling = r.gflops / ceilingGflops;
  console.log(`\nceiling ${ceilingGflops.toFixed(1)} GFLOP/s (best square MatMul); ${args.threads} threads for ORT and torch\n`);
  for (const r of runs) console.log(row(r));
  if (args.threads === 1) {
    const cpuCeiling = Math.max(...ceilings.map((c) => c.cpuGflops));
    console.log(`\nper CPU-second (time slices lost to other processes excluded): ceiling ${cpuCeiling.toFixed(1)} GFLOP/s`);
    for (const r of runs) {
      const gf = (r.samplesPerCpuSec! / r.batch) * (MODELS.find((m) => m.name === r.model)!.stepFlops(r.batch) / 1e9);
      const t = r.torchSamplesPerCpuSec;
      console.log(
        `${r.model.padEnd(22)}  ${r.optimizer.padEnd(5)}  batch ${String(r.batch).padStart(4)}  ${r.samplesPerCpuSec!.toFixed(0).padStart(8)} samples/cpu-s  ${gf.toFixed(1).padStart(6)} GFLOP/s  ${((100 * gf) / cpuCeiling).toFixed(1).padStart(5)}%  torch ${t?.toFixed(0) ?? 'n/a'}  x${t ? (r.samplesPerCpuSec! / t).toFixed(2) : 'n/a'}`,
      );
    }
  }
  const sgdAdam = runs
    .filter((r) => r.optimizer === 'adam')
    .map((a) => {
      const s = runs.find((r) => r.optimizer === 'sgd' && r.model === a.model && r.batch === a.batch);
      return s ? `${a.model} batch ${a.batch}: adam step = ${(a.stepMs / s.stepMs).toFixed(2)} x sgd step` : '';
    });
  console.log(sgdAdam.filter(Boolean).join('\n'));
  if (stepsPerRun.length) console.log('\nK steps per graph run (sgd):');
  for (const r of stepsPerRun)
    console.log(
      `${r.model.padEnd(22)}  batch ${String(r.batch).padStart(4)}  K=${String(r.stepsPerRun).padStart(2)} ${r.graph.padEnd(8)}  load ${String(r.loadMs).padStart(5)} ms  ${r.samplesPerSec.toFixed(0).padStart(8)} samples/s  x${r.vsOneStep.toFixed(2)} vs one step per run${r.samplesPerCpuSec ? `  ${r.samplesPerCpuSec.toFixed(0)} samples/cpu-s` : ''}`,
    );

  const report = {
    device: args.device,
    mixedPrecision: args.mixedPrecision ?? null,
    gpu: gpuName(args.device),
    ceilingGflops,
    threads: args.threads,
    spinning: args.spinning,
    cpu,
    cores: cpus().length,
    node: process.version,
    torch,
    ceilings,
    runs,
    stepsPerRun,
  };
  console.log(`wrote ${writeBenchReport(args.out, report)}`);
}

/** The card's name (nvidia-smi) for a CUDA run, so every number says where it was measured. */
function gpuName(device: Device): string | null {
  if (!device.startsWith('cuda')) return null;
  const index = device.includes(':') ? device.split(':')[1] : '0';
  const res = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader', '-i', index], {
    encoding: 'utf8',
  });
  return res.status === 0 ? res.stdout.trim() : null;
}

function row(r: BenchRun): string {
  const f = (v: number | null, w: number, d = 0) => (v === null ? 'n/a' : v.toFixed(d)).padStart(w);
  return [
    r.model.padEnd(22),
    r.optimizer.padEnd(5),
    `batch ${String(r.batch).padStart(4)}`,
    `${f(r.samplesPerSec, 8)} samples/s`,
    ...(r.tokensPerSec !== null ? [`${f(r.tokensPerSec, 7)} tokens/s`] : []),
    `${f(r.stepMs, 8, 2)} ms/step`,
    `${f(r.gflops, 6, 1)} GFLOP/s`,
    `${f(100 * r.fractionOfCeiling, 5, 1)}% of ceiling`,
    `torch ${f(r.torchSamplesPerSec, 8)} samples/s`,
    `x${f(r.vsTorch, 5, 2)}`,
    `K=${r.stepsPerRun} ${(r.hostDeviceBytesPerStep / 2 ** 20).toFixed(2)} MiB/step across`,
  ].join('  ');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
