/**
 * GPU check for a machine with an accelerator: trains the MLP 784-400-400-10 for a few steps on
 * the CPU and on `--device`, with one-step graphs, unrolled K-step graphs and the Scan step graph
 * (runs of K batches), checks that the parameters and losses match, and prints samples/s for each. Needs only node, onnxruntime-node
 * and the engine's dist: `bash test/bench/pack-gpu-check.sh` lays them out in .retain/gpu-check,
 * and there `node gpu-check.js --device webgpu` runs it (exit 1 when results differ).
 *
 *   node gpu-check.js --device webgpu|cuda [--steps 32] [--k 8] [--batch 128] [--threads N]
 *                     [--hidden 400,400] [--out result.json]
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import {
  buildStepGraph,
  initOptimizerState,
  initParams,
  mlp,
  parseDevice,
  Rng,
  TrainSession,
  type Device,
  type OptimizerConfig,
  type TensorMap,
} from '@retain/engine';

interface Args {
  device: Device;
  steps: number;
  k: number;
  batch: number;
  threads: number;
  hidden: number[];
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { steps: 32, k: 8, batch: 128, threads: availableParallelism(), hidden: [400, 400] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--device') args.device = parseDevice(value, '--device');
    else if (flag === '--steps') args.steps = Number(value);
    else if (flag === '--k') args.k = Number(value);
    else if (flag === '--batch') args.batch = Number(value);
    else if (flag === '--threads') args.threads = Number(value);
    else if (flag === '--hidden') args.hidden = value.split(',').map(Number);
    else if (flag === '--out') args.out = value;
    else throw new Error(`unknown flag ${flag}; see the header of gpu-check.ts`);
  }
  if (!args.device) throw new Error('--device webgpu|cuda is required');
  if (args.steps! % args.k! !== 0) throw new Error(`--steps (${args.steps}) must be a multiple of --k (${args.k})`);
  return args as Args;
}

interface Trained {
  losses: number[];
  params: TensorMap;
  samplesPerSec: number;
}

/** `scan`: the Scan step graph (`stepsPerRun: 'any'`, the trainer's CPU form) fed runs of K batches. */
async function train(args: Args, device: Device, opt: OptimizerConfig, k: number, scan = false): Promise<Trained> {
  const model = mlp({ inputSize: 784, hidden: args.hidden, classesPerHead: 10, heads: 1 });
  const step = buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun: scan ? 'any' : k });
  const initial = { ...initParams(model, 0), ...initOptimizerState(opt, model.params) };
  const B = args.batch;
  // The same batches whatever K: drawn once, then cut into runs of K batches.
  const rng = new Rng(11);
  const x = Float32Array.from({ length: args.steps * B * 784 }, () => rng.normal());
  const y = Int32Array.from({ length: args.steps * B }, () => rng.int(10));
  const runs = Array.from({ length: args.steps / k }, (_, r) => ({
    x: x.slice(r * k * B * 784, (r + 1) * k * B * 784),
    y: y.slice(r * k * B, (r + 1) * k * B),
  }));
  const lrs = Array.from({ length: k }, () => 0.01);
  const session = await TrainSession.create(step, initial, { device, threads: args.threads });
  try {
    const run = async (r: (typeof runs)[number]) =>
      k === 1 && !scan ? [await session.step(r.x, r.y, B, lrs[0])] : Array.from(await session.steps(r.x, r.y, B, lrs));
    const losses: number[] = [];
    for (const r of runs) losses.push(...(await run(r)));
    const params = await session.read();
    // Timing: more runs from the trained state (the same work per step), best of 3 windows.
    let best = 0;
    for (let w = 0; w < 3; w++) {
      const start = process.hrtime.bigint();
      for (const r of runs) await run(r);
      best = Math.max(best, (args.steps * B) / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    return { losses, params, samplesPerSec: best };
  } finally {
    await session.close();
  }
}

/** Largest |a - b| over every param and state, and whether all bits agree. */
function compare(a: Trained, b: Trained): { maxAbsDiff: number; maxLossDiff: number; identical: boolean } {
  let maxAbsDiff = 0;
  let identical = true;
  for (const [name, t] of Object.entries(a.params)) {
    const u = b.params[name].data;
    t.data.forEach((v, i) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - u[i]));
      if (!Object.is(v, u[i])) identical = false;
    });
  }
  const maxLossDiff = Math.max(...a.losses.map((l, i) => Math.abs(l - b.losses[i])));
  return { maxAbsDiff, maxLossDiff, identical: identical && maxLossDiff === 0 };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(
    `gpu-check: mlp-784-${args.hidden.join('-')}-10, batch ${args.batch}, ${args.steps} steps, K = ${args.k}; cpu: ${cpus()[0]?.model}, ${args.threads} threads`,
  );
  const results = [];
  let ok = true;
  for (const opt of [{ name: 'sgd' }, { name: 'adam' }] as OptimizerConfig[]) {
    const cpu1 = await train(args, 'cpu', opt, 1);
    const cpuK = await train(args, 'cpu', opt, args.k);
    const dev1 = await train(args, args.device, opt, 1);
    const devK = await train(args, args.device, opt, args.k);
    const cpuScan = await train(args, 'cpu', opt, args.k, true);
    const devScan = await train(args, args.device, opt, args.k, true);
    // Tolerance: GPU kernels may sum in another order; 32 steps of a healthy MLP stay within it.
    const tolerance = 1e-3;
    const checks = {
      cpuK: compare(cpu1, cpuK),
      cpuScan: compare(cpu1, cpuScan),
      device1: compare(cpu1, dev1),
      deviceK: compare(cpu1, devK),
      deviceScan: compare(cpu1, devScan),
    };
    const pass = Object.values(checks).every((c) => c.maxAbsDiff <= tolerance && c.maxLossDiff <= tolerance);
    ok &&= pass;
    const row = {
      optimizer: opt.name,
      samplesPerSec: {
        cpu1: cpu1.samplesPerSec,
        cpuK: cpuK.samplesPerSec,
        cpuScan: cpuScan.samplesPerSec,
        device1: dev1.samplesPerSec,
        deviceK: devK.samplesPerSec,
        deviceScan: devScan.samplesPerSec,
      },
      checks,
      pass,
    };
    results.push(row);
    const f = (v: number) => v.toFixed(0).padStart(8);
    console.log(
      `${opt.name.padEnd(4)} samples/s  cpu ${f(cpu1.samplesPerSec)}  cpu K=${args.k} ${f(cpuK.samplesPerSec)}  ` +
        `${args.device} ${f(dev1.samplesPerSec)}  ${args.device} K=${args.k} ${f(devK.samplesPerSec)}  ` +
        `scan: cpu ${f(cpuScan.samplesPerSec)}  ${args.device} ${f(devScan.samplesPerSec)}`,
    );
    for (const [name, c] of Object.entries(checks))
      console.log(
        `     vs cpu one-step: ${name.padEnd(8)} max |param diff| ${c.maxAbsDiff.toExponential(2)}  max |loss diff| ${c.maxLossDiff.toExponential(2)}  ${c.identical ? 'bit-identical' : ''}`,
      );
    console.log(`     ${pass ? 'PASS' : `FAIL (tolerance ${tolerance})`}`);
  }
  const report = { ...args, cpu: cpus()[0]?.model, results, pass: ok };
  if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
