/**
 * Diagnoses why Adam steps differ between the CPU and `--device` while SGD steps agree (see
 * gpu-check.ts). In one short run it compares, CPU vs device (and both vs float64 on the host):
 *  a. tiny graphs: Pow(beta, t) for beta 0.9 / 0.999 and t = 1..100 (scalar t run by run, and a
 *     [100] t broadcast against a scalar beta), Adam's per-step scalars (stepSize, epsHat) built as
 *     optim.ts builds them, and Sqrt / Div / Mul on 0, 1e-40 (subnormal), 1e-30, 1e-8, 1, 4.
 *  b. one Adam step of the MLP from identical params, state and batch: per-tensor max |diff| of
 *     the gradients, of m, v and the new params; gradients exactly 0 on one device only; the share
 *     of gradients whose sign differs; and each device's update error given its OWN gradients
 *     (host float64 Adam), which tells a gradient mismatch from an update-kernel mismatch.
 *  c. the same step with stepSize and epsHat fed as inputs computed in float64 on the host (no
 *     Pow in the graph), to see whether that alone removes the mismatch.
 * The step is diagnosed fresh (t = 1, zero moments) and after `--warmup` CPU steps.
 * `bash test/bench/pack-gpu-check.sh` packs it with gpu-check.js into .retain/gpu-check; there:
 *
 *   node adam-gpu-diag.js --device webgpu [--hidden 400,400] [--batch 128] [--warmup 3] [--out diag.json]
 *
 * Exit 0 when it ran (it diagnoses, it does not judge), 2 when the device cannot start.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  applyOptimizer,
  gradients,
  Graph,
  GraphSession,
  initParams,
  mlp,
  paramSpec,
  parseDevice,
  Rng,
  softmaxCrossEntropy,
  type Device,
  type Model,
  type Tensor,
  type Value,
} from '@retain/engine';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;
const LR = 0.01;

interface Args {
  device: Device;
  hidden: number[];
  batch: number;
  warmup: number;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { hidden: [400, 400], batch: 128, warmup: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--device') args.device = parseDevice(value, '--device');
    else if (flag === '--hidden') args.hidden = value.split(',').map(Number);
    else if (flag === '--batch') args.batch = Number(value);
    else if (flag === '--warmup') args.warmup = Number(value);
    else if (flag === '--out') args.out = value;
    else throw new Error(`unknown flag ${flag}; see the header of adam-gpu-diag.ts`);
  }
  if (!args.device) throw new Error('--device webgpu|cuda|cpu is required');
  return args as Args;
}

const f32 = (dims: number[], data: ArrayLike<number>): Value => ({ dtype: 'float32', dims, data: Float32Array.from(data) });
const scalarF32 = (v: number): Value => f32([], [v]);
const floats = (v: Value): Float32Array => v.data as Float32Array;

/** Runs `bytes` once per feed set on the CPU and on `device`; returns both sides' outputs. */
async function onBoth(bytes: Uint8Array, device: Device, feeds: Record<string, Value>[]) {
  const run = async (d: Device) => {
    const s = await GraphSession.create(bytes, {}, { device: d, threads: availableParallelism() });
    try {
      const outs: Record<string, Value>[] = [];
      for (const f of feeds) outs.push(await s.run(f));
      return outs;
    } finally {
      await s.close();
    }
  };
  return { cpu: await run('cpu'), dev: await run(device) };
}

/** Largest |a - b| / max(|a|, |b|) (0 when equal, NaN vs NaN and inf vs same inf included). */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i]) || a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i]));
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
  }
  return worst;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

interface Row {
  part: string;
  what: string;
  /** CPU vs device. */
  diff: number;
  /** 'rel' or 'abs'. */
  kind: string;
  cpuVsF64?: number;
  devVsF64?: number;
  note?: string;
  /** Gradient rows: [zero on one side only, sign differs, cpu |g| subnormal, cpu g*g subnormal, elements]. */
  counts?: number[];
}

/** The float64 values of Adam's per-step scalars at step t, as optim.ts derives them. */
function adamScalars(t: number): { stepSize: number; epsHat: number } {
  const c2 = Math.sqrt(1 - BETA2 ** t);
  return {
    stepSize: (LR * c2 * ((1 - BETA1) / Math.sqrt(1 - BETA2))) / (1 - BETA1 ** t),
    epsHat: (c2 * EPS) / Math.sqrt(1 - BETA2),
  };
}

async function partA(device: Device): Promise<Row[]> {
  const rows: Row[] = [];
  const ts = Array.from({ length: 100 }, (_, i) => i + 1);
  const f64Pow = (beta: number) => ts.map((t) => Math.fround(beta) ** t);

  // Scalar t, one run per t: exactly the shape of the step graph's Pow; plus Adam's two scalars
  // built with the same nodes as optim.ts (Pow, Sub, Sqrt, Mul, Div on scalars).
  {
    const g = new Graph('diag.pow-scalar');
    const t = g.input('t', []);
    const lr = g.input('lr', []);
    const s = (v: number) => g.scalar(v, 'float32');
    const node = (op: string, inputs: Tensor[]) => g.node(op, inputs, { dims: [], dtype: 'float32' });
    const powOf = (beta: number) => node('Pow', [s(beta), t]);
    g.output('pow0.9', powOf(BETA1));
    g.output('pow0.999', powOf(BETA2));
    const correction = (beta: number) => node('Sub', [s(1), powOf(beta)]);
    const sqrtC2 = node('Sqrt', [correction(BETA2)]);
    g.output('stepSize', node('Div', [node('Mul', [lr, node('Mul', [sqrtC2, s((1 - BETA1) / Math.sqrt(1 - BETA2))])]), correction(BETA1)]));
    g.output('epsHat', node('Mul', [sqrtC2, s(EPS / Math.sqrt(1 - BETA2))]));
    const { cpu, dev } = await onBoth(
      g.toBytes(),
      device,
      ts.map((v) => ({ t: scalarF32(v), lr: scalarF32(LR) })),
    );
    const col = (outs: Record<string, Value>[], name: string) => outs.map((o) => floats(o[name])[0]);
    const ref: Record<string, number[]> = {
      'pow0.9': f64Pow(BETA1),
      'pow0.999': f64Pow(BETA2),
      stepSize: ts.map((t) => adamScalars(t).stepSize),
      epsHat: ts.map((t) => adamScalars(t).epsHat),
    };
    for (const name of Object.keys(ref))
      rows.push({
        part: 'a',
        what: `${name}(t scalar, 1..100)`,
        diff: maxRel(col(cpu, name), col(dev, name)),
        kind: 'rel',
        cpuVsF64: maxRel(col(cpu, name), ref[name]),
        devVsF64: maxRel(col(dev, name), ref[name]),
      });
  }

  // t as a [100] vector against a scalar beta: Pow broadcasting a scalar base.
  {
    const g = new Graph('diag.pow-broadcast');
    const t = g.input('t', [100]);
    for (const beta of [BETA1, BETA2])
      g.output(`pow${beta}`, g.node('Pow', [g.scalar(beta, 'float32'), t], { dims: [100], dtype: 'float32' }));
    const { cpu, dev } = await onBoth(g.toBytes(), device, [{ t: f32([100], ts) }]);
    for (const beta of [BETA1, BETA2]) {
      const name = `pow${beta}`;
      const [c, d] = [floats(cpu[0][name]), floats(dev[0][name])];
      const ref = f64Pow(beta);
      rows.push({
        part: 'a',
        what: `${name}(t [100] bcast)`,
        diff: maxRel(c, d),
        kind: 'rel',
        cpuVsF64: maxRel(c, ref),
        devVsF64: maxRel(d, ref),
      });
    }
  }

  // Sqrt / Div / Mul near zero: 1e-40 is subnormal in float32 (below 1.18e-38); 1e-20 squared is.
  {
    const xs = [0, 1e-40, 1e-30, 1e-20, 1e-8, 1, 4, -1e-40];
    const n = xs.length;
    const g = new Graph('diag.sqrt-div');
    const x = g.input('x', [n]);
    const k = g.input('k', []);
    const node = (op: string, inputs: Tensor[]) => g.node(op, inputs, { dims: [n], dtype: 'float32' });
    const sq = node('Sqrt', [x]);
    g.output('sqrt(x)', sq);
    g.output('x/(sqrt(|x|)+1e-8)', node('Div', [x, node('Add', [node('Sqrt', [node('Abs', [x])]), g.scalar(1e-8, 'float32')])]));
    g.output('1/x', node('Div', [g.scalar(1, 'float32'), x]));
    g.output('x/k (k=3 scalar)', node('Div', [x, k]));
    g.output('x*x', node('Mul', [x, x]));
    g.output('x*1', node('Mul', [x, g.scalar(1, 'float32')]));
    const { cpu, dev } = await onBoth(g.toBytes(), device, [{ x: f32([n], xs), k: scalarF32(3) }]);
    const x32 = Float32Array.from(xs);
    const ref: Record<string, number[]> = {
      'sqrt(x)': Array.from(x32, (v) => Math.sqrt(v)),
      'x/(sqrt(|x|)+1e-8)': Array.from(x32, (v) => v / (Math.sqrt(Math.abs(v)) + Math.fround(1e-8))),
      '1/x': Array.from(x32, (v) => Math.fround(1 / v)),
      'x/k (k=3 scalar)': Array.from(x32, (v) => Math.fround(v / 3)),
      'x*x': Array.from(x32, (v) => Math.fround(v * v)),
      'x*1': Array.from(x32),
    };
    for (const name of Object.keys(ref)) {
      const [c, d] = [floats(cpu[0][name]), floats(dev[0][name])];
      const show = (a: Float32Array) => Array.from(a, (v) => v.toExponential(1)).join(' ');
      rows.push({
        part: 'a',
        what: name,
        diff: maxRel(c, d),
        kind: 'rel',
        cpuVsF64: maxRel(c, ref[name]),
        devVsF64: maxRel(d, ref[name]),
        note: maxRel(c, d) > 0 ? `x=[${xs.join(' ')}] cpu=[${show(c)}] dev=[${show(d)}]` : undefined,
      });
    }
  }
  return rows;
}

/**
 * The MLP's Adam step with every gradient as an output 'grad.<p>'. `hostScalars`: stepSize and
 * epsHat are inputs (part c) and the update is optim.ts's, node for node, otherwise applyOptimizer.
 */
function stepGraph(model: Model, hostScalars: boolean): Uint8Array {
  const g = new Graph(`diag.adam-step${hostScalars ? '.host-scalars' : ''}`);
  const x = g.input('x', ['B', ...model.inputDims]);
  const y = g.input('y', ['B'], 'int64');
  const lr = g.input('lr', []);
  const names = model.paramsForHead(0);
  const params: Record<string, Tensor> = {};
  for (const n of names) params[n] = g.param(n, paramSpec(model, n).dims);
  const state: Record<string, Tensor> = { 'adam.t': g.input('adam.t', []) };
  for (const n of names) for (const m of ['m', 'v']) state[`${m}.${n}`] = g.input(`${m}.${n}`, params[n].dims);
  const loss = softmaxCrossEntropy(model.forward(g, params, x, 0, { training: true, bufferUpdates: {} }), y);
  const grads = gradients(
    loss,
    names.map((n) => params[n]),
  );
  g.output('loss', loss);
  names.forEach((n, i) => g.output(`grad.${n}`, grads[i]));
  let updates: Record<string, Tensor>;
  if (!hostScalars) {
    updates = applyOptimizer(
      g,
      { name: 'adam', beta1: BETA1, beta2: BETA2, eps: EPS },
      names.map((name, i) => ({ name, value: params[name], grad: grads[i] })),
      state,
      lr,
    );
  } else {
    const stepSize = g.input('stepSize', []);
    const epsHat = g.input('epsHat', []);
    const s = (v: number) => g.scalar(v, 'float32');
    updates = {};
    names.forEach((n, i) => {
      const like = (op: string, inputs: Tensor[]) => g.node(op, inputs, { dims: params[n].dims, dtype: 'float32' });
      const m = like('Add', [like('Mul', [state[`m.${n}`], s(BETA1)]), grads[i]]);
      const v = like('Add', [like('Mul', [state[`v.${n}`], s(BETA2)]), like('Mul', [grads[i], grads[i]])]);
      updates[`m.${n}`] = m;
      updates[`v.${n}`] = v;
      updates[n] = like('Sub', [params[n], like('Mul', [like('Div', [m, like('Add', [like('Sqrt', [v]), epsHat])]), stepSize])]);
    });
  }
  for (const [name, t] of Object.entries(updates)) g.output(`new.${name}`, t);
  return g.toBytes();
}

/** What one device computed in one step. */
type StepOut = Record<string, Value>;

/** Host float64 Adam from the device's own gradients: m, v and params it should have produced. */
function hostAdam(feeds: Record<string, Value>, out: StepOut, name: string) {
  const t = floats(feeds['adam.t'])[0] + 1;
  const { stepSize, epsHat } = adamScalars(t);
  const [g, p, m0, v0] = [floats(out[`grad.${name}`]), floats(feeds[name]), floats(feeds[`m.${name}`]), floats(feeds[`v.${name}`])];
  const m = Array.from(g, (gi, i) => BETA1 * m0[i] + gi);
  const v = Array.from(g, (gi, i) => BETA2 * v0[i] + gi * gi);
  return { m, v, p: Array.from(p, (pi, i) => pi - (stepSize * m[i]) / (Math.sqrt(v[i]) + epsHat)) };
}

function stepRows(part: string, label: string, names: string[], feeds: Record<string, Value>, cpu: StepOut, dev: StepOut): Row[] {
  const rows: Row[] = [];
  rows.push({ part, what: `${label} loss`, diff: maxAbs(floats(cpu.loss), floats(dev.loss)), kind: 'abs' });
  for (const n of names) {
    const [gc, gd] = [floats(cpu[`grad.${n}`]), floats(dev[`grad.${n}`])];
    let zeroOnOne = 0;
    let signFlips = 0;
    let subnormal = 0;
    let squareSubnormal = 0;
    for (let i = 0; i < gc.length; i++) {
      if ((gc[i] === 0) !== (gd[i] === 0)) zeroOnOne++;
      else if (Math.sign(gc[i]) !== Math.sign(gd[i])) signFlips++;
      if (gc[i] !== 0 && Math.abs(gc[i]) < 1.1754944e-38) subnormal++;
      if (gc[i] !== 0 && Math.abs(gc[i]) < 1.0842022e-19) squareSubnormal++;
    }
    rows.push({
      part,
      what: `${label} grad ${n}`,
      diff: maxAbs(gc, gd),
      kind: 'abs',
      counts: [zeroOnOne, signFlips, subnormal, squareSubnormal, gc.length],
    });
    const refC = hostAdam(feeds, cpu, n);
    const refD = hostAdam(feeds, dev, n);
    for (const [key, out, ref] of [
      ['m', `new.m.${n}`, 'm'],
      ['v', `new.v.${n}`, 'v'],
      ['param', `new.${n}`, 'p'],
    ] as const)
      rows.push({
        part,
        what: `${label} ${key} ${n}`,
        diff: maxAbs(floats(cpu[out]), floats(dev[out])),
        kind: 'abs',
        // Each side against host float64 Adam from ITS OWN gradients: the update's own error.
        cpuVsF64: maxAbs(floats(cpu[out]), refC[ref]),
        devVsF64: maxAbs(floats(dev[out]), refD[ref]),
      });
  }
  return rows;
}

async function partsBC(args: Args): Promise<Row[]> {
  const model = mlp({ inputSize: 784, hidden: args.hidden, classesPerHead: 10, heads: 1 });
  const names = model.paramsForHead(0);
  const B = args.batch;
  const rng = new Rng(11);
  const batch = () => ({
    x: f32(
      [B, 784],
      Array.from({ length: B * 784 }, () => rng.normal()),
    ),
    y: { dtype: 'int64', dims: [B], data: BigInt64Array.from({ length: B }, () => BigInt(rng.int(10))) } as Value,
  });
  const params = initParams(model, 0);
  const fresh: Record<string, Value> = { 'adam.t': scalarF32(0), lr: scalarF32(LR) };
  for (const n of names) {
    fresh[n] = f32(params[n].dims, params[n].data);
    for (const m of ['m', 'v']) fresh[`${m}.${n}`] = f32(params[n].dims, new Float32Array(params[n].data.length));
  }
  const inGraph = stepGraph(model, false);
  // The warmed-up state: `warmup` CPU steps from the fresh one, so moments are not zero.
  let warm = fresh;
  if (args.warmup > 0) {
    const s = await GraphSession.create(inGraph, {}, { device: 'cpu', threads: availableParallelism() });
    try {
      for (let i = 0; i < args.warmup; i++) {
        const out = await s.run({ ...warm, ...batch() });
        warm = { ...warm };
        for (const [k, v] of Object.entries(out)) if (k.startsWith('new.')) warm[k.slice(4)] = v;
      }
    } finally {
      await s.close();
    }
  }
  const rows: Row[] = [];
  const probe = batch();
  const states: [string, Record<string, Value>][] = [['t=1', fresh]];
  if (args.warmup > 0) states.push([`t=${args.warmup + 1}`, warm]);
  for (const [label, state] of states) {
    const feeds = { ...state, ...probe };
    const b = await onBoth(inGraph, args.device, [feeds]);
    rows.push(...stepRows('b', label, names, feeds, b.cpu[0], b.dev[0]));
    const { stepSize, epsHat } = adamScalars(floats(state['adam.t'])[0] + 1);
    const hostFeeds = { ...feeds, stepSize: scalarF32(stepSize), epsHat: scalarF32(epsHat) };
    const c = await onBoth(stepGraph(model, true), args.device, [hostFeeds]);
    rows.push(...stepRows('c', label, names, hostFeeds, c.cpu[0], c.dev[0]).filter((r) => !r.what.includes(' grad ')));
  }
  return rows;
}

/** Rows of parts b and c merged over params ('t=1 grad trunk.0.weight' -> 't=1 grad'): maxima, counts summed. */
function summarize(rows: Row[]): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const what = r.part === 'a' ? r.what : r.what.split(' ').slice(0, 2).join(' ');
    const key = `${r.part} ${what}`;
    const prev = out.get(key);
    const max = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
    const counts = r.counts && (prev?.counts ? r.counts.map((c, i) => c + prev.counts![i]) : r.counts);
    out.set(key, {
      part: r.part,
      what,
      diff: max(prev?.diff, r.diff)!,
      kind: r.kind,
      cpuVsF64: max(prev?.cpuVsF64, r.cpuVsF64),
      devVsF64: max(prev?.devVsF64, r.devVsF64),
      note: r.part === 'a' ? r.note : undefined,
      counts,
    });
  }
  return [...out.values()];
}

function printTable(rows: Row[]): void {
  const e = (v: number | undefined) => (v === undefined ? '' : v === 0 ? '0' : v.toExponential(2)).padStart(9);
  console.log(
    `${'part'.padEnd(4)} ${'what'.padEnd(42)} ${'cpu~dev'.padStart(9)} kind ${'cpu~f64'.padStart(9)} ${'dev~f64'.padStart(9)}  note`,
  );
  const describe = (r: Row) => {
    if (!r.counts) return r.note ?? '';
    const [zero, flips, subnormal, square, n] = r.counts;
    return `zero on one side only ${zero}, sign differs ${flips} (${((100 * flips) / n).toFixed(3)}%), cpu g subnormal ${subnormal}, cpu g*g subnormal ${square}`;
  };
  for (const r of rows)
    console.log(
      `${r.part.padEnd(4)} ${r.what.padEnd(42)} ${e(r.diff)} ${r.kind.padEnd(4)} ${e(r.cpuVsF64)} ${e(r.devVsF64)}  ${describe(r)}`,
    );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`adam-gpu-diag: cpu vs ${args.device}, mlp-784-${args.hidden.join('-')}-10, batch ${args.batch}, warmup ${args.warmup}`);
  console.log('cpu~dev: max diff CPU vs device; cpu~f64 / dev~f64: each side vs float64 on the host');
  console.log("(b/c m, v, param rows: vs host float64 Adam from that side's OWN gradients, i.e. the update's error)");
  const rows = [...(await partA(args.device)), ...(await partsBC(args))];
  printTable(rows);
  console.log('\nsummary (b/c rows: max over the params)');
  printTable(summarize(rows));
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ ...args, rows }, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
