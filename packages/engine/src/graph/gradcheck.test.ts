import { Rng } from '../rng';
import { GraphSession, type Value } from '../runtime/graph-session';
import { gradients } from './autodiff';
import { Graph } from './graph';
import * as op from './ops';
import type { Tensor } from './tensor';
import { loraWeight } from '../models/lora';
import { numel } from '../tensor';

/**
 * The generic finite-difference check: every op listed in `cases` is built in a float64 graph,
 * reduced to a scalar L = sum(op(...) * R) with fixed random R, and run in onnxruntime; the
 * analytic gradients from `gradients()` must match central differences of L.
 * A new op gets checked by adding a line to the table.
 */
interface Case {
  name: string;
  params: Record<string, number[]>; // differentiable inputs and their dims
  build: (g: Graph, p: Record<string, Tensor>) => Tensor;
  positive?: boolean; // draw inputs in (0.5, 2) (log, sqrt, div denominators)
  distinct?: boolean; // inputs a shuffle of values 0.04 apart (max pooling: no near-ties within h)
  /** float32 for ops onnxruntime has no float64 kernel for (Conv, ConvTranspose, pools, Erf). */
  float32?: boolean;
  /** float32 finite-difference step, when FLOAT32_STEP would cross a kink (relu, max) of a chain. */
  step?: number;
}

const labels = (g: Graph, values: number[]) => g.constant(BigInt64Array.from(values, BigInt), [values.length], 'int64');

const seed = (g: Graph, value: number) => g.constant(new BigInt64Array([BigInt(value)]), [], 'int64');

const cases: Case[] = [
  { name: 'add', params: { a: [3, 4], b: [3, 4] }, build: (g, p) => op.add(p.a, p.b) },
  { name: 'add broadcast row', params: { a: [3, 4], b: [4] }, build: (g, p) => op.add(p.a, p.b) },
  { name: 'add broadcast column and lead', params: { a: [2, 3, 1], b: [4] }, build: (g, p) => op.add(p.a, p.b) },
  { name: 'sub broadcast', params: { a: [3, 1], b: [1, 4] }, build: (g, p) => op.sub(p.a, p.b) },
  { name: 'mul broadcast', params: { a: [2, 3, 4], b: [3, 1] }, build: (g, p) => op.mul(p.a, p.b) },
  { name: 'div broadcast', params: { a: [3, 4], b: [4] }, build: (g, p) => op.div(p.a, p.b), positive: true },
  { name: 'neg', params: { a: [5] }, build: (g, p) => op.neg(p.a) },
  { name: 'scale', params: { a: [2, 3] }, build: (g, p) => op.scale(p.a, -2.5) },
  { name: 'square', params: { a: [2, 3] }, build: (g, p) => op.square(p.a) },
  { name: 'exp', params: { a: [2, 3] }, build: (g, p) => op.exp(p.a) },
  { name: 'log', params: { a: [2, 3] }, build: (g, p) => op.log(p.a), positive: true },
  { name: 'sqrt', params: { a: [2, 3] }, build: (g, p) => op.sqrt(p.a), positive: true },
  { name: 'matmul', params: { a: [3, 4], b: [4, 5] }, build: (g, p) => op.matmul(p.a, p.b) },
  {
    // The weight LoRA's wrapper feeds the model (models/lora.ts): x (W + s A B).
    name: 'LoRA weight then matmul',
    params: { x: [3, 4], w: [4, 5], a: [4, 2], b: [2, 5] },
    build: (g, p) => op.matmul(p.x, loraWeight(p.w, p.a, p.b, 0.75)),
  },
  { name: 'matmul batched x shared', params: { a: [2, 3, 4], b: [4, 2] }, build: (g, p) => op.matmul(p.a, p.b) },
  { name: 'relu', params: { a: [4, 5] }, build: (g, p) => op.relu(p.a) },
  { name: 'tanh', params: { a: [4, 5] }, build: (g, p) => op.tanh(p.a) },
  { name: 'sigmoid', params: { a: [4, 5] }, build: (g, p) => op.sigmoid(p.a) },
  { name: 'softmax axis 1', params: { a: [3, 4] }, build: (g, p) => op.softmax(p.a, 1) },
  { name: 'softmax axis 0', params: { a: [3, 4] }, build: (g, p) => op.softmax(p.a, 0) },
  { name: 'logSoftmax', params: { a: [3, 4] }, build: (g, p) => op.logSoftmax(p.a, -1) },
  { name: 'softmaxCrossEntropy', params: { a: [4, 3] }, build: (g, p) => op.softmaxCrossEntropy(p.a, labels(g, [0, 2, 1, 2])) },
  { name: 'reduceSum axes keepdims', params: { a: [2, 3, 4] }, build: (g, p) => op.reduceSum(p.a, [0, 2], true) },
  { name: 'reduceSum axis dropped', params: { a: [2, 3, 4] }, build: (g, p) => op.reduceSum(p.a, [1]) },
  { name: 'reduceMean', params: { a: [2, 3, 4] }, build: (g, p) => op.reduceMean(p.a, [-1]) },
  { name: 'sum', params: { a: [2, 3] }, build: (g, p) => op.sum(p.a) },
  { name: 'mean', params: { a: [2, 3] }, build: (g, p) => op.mean(p.a) },
  { name: 'reshape', params: { a: [2, 6] }, build: (g, p) => op.reshape(p.a, [3, -1]) },
  { name: 'unsqueeze', params: { a: [2, 3] }, build: (g, p) => op.unsqueeze(p.a, [1]) },
  { name: 'transpose', params: { a: [2, 3, 4] }, build: (g, p) => op.transpose(p.a, [2, 0, 1]) },
  { name: 'concat', params: { a: [2, 3], b: [2, 2] }, build: (g, p) => op.concat([p.a, p.b], 1) },
  { name: 'slice', params: { a: [4, 5] }, build: (g, p) => op.slice(p.a, [1, -3], [3, 5], [0, 1]) },
  { name: 'gather with repeats', params: { a: [4, 3] }, build: (g, p) => op.gather(p.a, [2, 0, 2], 0) },
  { name: 'gather axis 1', params: { a: [2, 4] }, build: (g, p) => op.gather(p.a, [3, 1], 1) },
  { name: 'expandTo', params: { a: [3, 1] }, build: (g, p) => op.expandTo(p.a, g.constant(new Float64Array(24), [2, 3, 4])) },
  { name: 'shared input (a*a + a)', params: { a: [3] }, build: (g, p) => op.add(op.mul(p.a, p.a), p.a) },
  { name: 'pow (constant exponent)', params: { a: [2, 3] }, build: (g, p) => op.pow(p.a, 2.5), positive: true },
  { name: 'pow (tensor exponent, broadcast)', params: { a: [2, 3], e: [3] }, build: (g, p) => op.pow(p.a, p.e), positive: true },
  { name: 'matmul batched 4-D (attention)', params: { a: [2, 2, 3, 4], b: [2, 2, 4, 3] }, build: (g, p) => op.matmul(p.a, p.b) },
  { name: 'softmax axis 1 of 3-D', params: { a: [2, 3, 4] }, build: (g, p) => op.softmax(p.a, 1) },
  {
    name: 'causalMask then softmax',
    params: { a: [2, 4, 4] },
    build: (g, p) => op.softmax(op.causalMask(p.a), -1),
  },
  {
    name: 'where (broadcast cond and operands)',
    params: { a: [3, 4], b: [4] },
    build: (g, p) => op.where(g.constant(Uint8Array.from([1, 0, 0, 1]), [4], 'bool'), p.a, p.b),
  },
  { name: 'clip', params: { a: [4, 5] }, build: (g, p) => op.clip(p.a, -0.5, 0.4) },
  { name: 'pad', params: { a: [2, 3] }, build: (g, p) => op.pad(p.a, [1, 0, 2, 3], [0, 1], 0.5) },
  {
    name: 'split',
    params: { a: [2, 5] },
    build: (g, p) => {
      const [x, y, z] = op.split(p.a, [1, 3, 1], 1);
      return op.concat([op.mul(x, 2), op.square(y), z], 1);
    },
  },
  {
    name: 'embedding with repeated ids',
    params: { t: [5, 3] },
    build: (g, p) => op.embedding(p.t, g.constant(BigInt64Array.from([4, 1, 4, 0, 1, 1], BigInt), [2, 3], 'int64')),
  },
  { name: 'layerNorm', params: { x: [3, 5], gamma: [5], beta: [5] }, build: (g, p) => op.layerNorm(p.x, p.gamma, p.beta) },
  { name: 'rmsNorm', params: { x: [3, 5], gamma: [5] }, build: (g, p) => op.rmsNorm(p.x, p.gamma) },
  { name: 'silu', params: { a: [3, 4] }, build: (g, p) => op.silu(op.mul(p.a, 3)) },
  { name: 'rotary [B, H, T, dh]', params: { a: [2, 2, 3, 4] }, build: (g, p) => op.rotary(op.mul(p.a, 2), 100) },
  {
    name: 'causal LM chain (rmsNorm, rotary causal attention, SwiGLU, tied head)',
    params: { x: [2, 3, 4], wq: [4, 4], wk: [4, 4], wv: [4, 4], gamma: [4], up: [4, 6], gate: [4, 6], down: [6, 4], emb: [5, 4] },
    build: (g, p) => {
      const h = op.rmsNorm(p.x, p.gamma);
      const [q, k] = [p.wq, p.wk].map((w) => op.rotary(op.matmul(h, w)));
      const weights = op.softmax(op.causalMask(op.scale(op.matmul(q, op.transpose(k, [0, 2, 1])), 0.5)), -1);
      const a = op.add(p.x, op.matmul(weights, op.matmul(h, p.wv)));
      const mlp = op.matmul(op.mul(op.silu(op.matmul(a, p.gate)), op.matmul(a, p.up)), p.down);
      return op.matmul(op.add(a, mlp), op.transpose(p.emb, [1, 0]));
    },
  },
  {
    name: 'batchNorm train [N, C, H, W]',
    params: { x: [3, 2, 2, 2], gamma: [2], beta: [2] },
    build: (g, p) => op.batchNormTrain(p.x, p.gamma, p.beta).out,
  },
  {
    name: 'batchNorm train [N, C]',
    params: { x: [4, 3], gamma: [3], beta: [3] },
    build: (g, p) => op.batchNormTrain(p.x, p.gamma, p.beta).out,
  },
  {
    name: 'batchNorm eval',
    params: { x: [2, 3, 2, 2], gamma: [3], beta: [3] },
    build: (g, p) =>
      op.batchNormEval(
        p.x,
        p.gamma,
        p.beta,
        g.constant(new Float64Array([0.1, -0.2, 0.3]), [3]),
        g.constant(new Float64Array([0.5, 1.5, 2]), [3]),
      ),
  },
  { name: 'dropout (seeded mask)', params: { a: [4, 6] }, build: (g, p) => op.dropout(p.a, 0.3, seed(g, 42)) },
  { name: 'globalAvgPool', params: { a: [2, 3, 3, 2] }, build: (g, p) => op.globalAvgPool(p.a) },
  // float32: onnxruntime has no float64 Conv, ConvTranspose, pools or Erf.
  { name: 'conv2d', params: { x: [2, 2, 5, 5], w: [3, 2, 3, 3], b: [3] }, build: (g, p) => op.conv2d(p.x, p.w, p.b), float32: true },
  {
    name: 'conv2d stride 2, padding 1 (floor drops a row)',
    params: { x: [1, 2, 6, 6], w: [2, 2, 3, 3] },
    build: (g, p) => op.conv2d(p.x, p.w, undefined, { stride: 2, padding: 1 }),
    float32: true,
  },
  {
    name: 'conv2d dilation 2, padding 2',
    params: { x: [1, 1, 6, 5], w: [2, 1, 3, 2] },
    build: (g, p) => op.conv2d(p.x, p.w, undefined, { dilation: 2, padding: 2 }),
    float32: true,
  },
  {
    name: 'conv2d groups 2',
    params: { x: [2, 4, 4, 4], w: [6, 2, 2, 2], b: [6] },
    build: (g, p) => op.conv2d(p.x, p.w, p.b, { groups: 2, padding: 1 }),
    float32: true,
  },
  {
    name: 'convTranspose2d',
    params: { x: [2, 3, 3, 3], w: [3, 2, 3, 3], b: [2] },
    build: (g, p) => op.convTranspose2d(p.x, p.w, p.b),
    float32: true,
  },
  {
    name: 'convTranspose2d stride 2, padding 1, outputPadding 1',
    params: { x: [1, 2, 3, 4], w: [2, 3, 3, 3] },
    build: (g, p) => op.convTranspose2d(p.x, p.w, undefined, { stride: 2, padding: 1, outputPadding: 1 }),
    float32: true,
  },
  {
    // outputPadding >= dilation: the weight correlation has an extra tap, sliced off
    name: 'convTranspose2d dilation 2, stride 3, padding 1, outputPadding 2',
    params: { x: [1, 1, 4, 3], w: [1, 2, 2, 3] },
    build: (g, p) => op.convTranspose2d(p.x, p.w, undefined, { dilation: 2, stride: 3, padding: 1, outputPadding: 2 }),
    float32: true,
  },
  {
    name: 'convTranspose2d groups 2, stride 2',
    params: { x: [2, 4, 3, 3], w: [4, 3, 2, 2], b: [6] },
    build: (g, p) => op.convTranspose2d(p.x, p.w, p.b, { groups: 2, stride: 2 }),
    float32: true,
  },
  { name: 'maxPool2d 2x2', params: { a: [2, 2, 4, 5] }, build: (g, p) => op.maxPool2d(p.a, 2), float32: true, distinct: true },
  {
    name: 'maxPool2d 3x3 stride 2 padding 1 (overlapping)',
    params: { a: [1, 2, 5, 5] },
    build: (g, p) => op.maxPool2d(p.a, 3, { stride: 2, padding: 1 }),
    float32: true,
    distinct: true,
  },
  { name: 'avgPool2d 2x2', params: { a: [2, 2, 4, 5] }, build: (g, p) => op.avgPool2d(p.a, 2), float32: true },
  {
    name: 'avgPool2d 3x3 stride 2 padding 1',
    params: { a: [1, 2, 6, 6] },
    build: (g, p) => op.avgPool2d(p.a, 3, { stride: 2, padding: 1 }),
    float32: true,
  },
  { name: 'erf', params: { a: [3, 4] }, build: (g, p) => op.erf(p.a), float32: true },
  { name: 'gelu', params: { a: [3, 4] }, build: (g, p) => op.gelu(op.mul(p.a, 3)), float32: true },
  {
    name: 'attention chain (layerNorm, causal single-head attention, residual)',
    params: { x: [2, 3, 4], wq: [4, 4], wk: [4, 4], wv: [4, 4], gamma: [4], beta: [4] },
    build: (g, p) => {
      const h = op.layerNorm(p.x, p.gamma, p.beta);
      const [q, k, v] = [p.wq, p.wk, p.wv].map((w) => op.matmul(h, w));
      const weights = op.softmax(op.causalMask(op.scale(op.matmul(q, op.transpose(k, [0, 2, 1])), 0.5)), -1);
      return op.add(p.x, op.matmul(weights, v));
    },
  },
  {
    name: 'conv chain (conv, relu, maxPool2d, conv, globalAvgPool)',
    params: { x: [2, 1, 6, 6], w1: [2, 1, 3, 3], w2: [3, 2, 2, 2] },
    build: (g, p) => op.globalAvgPool(op.conv2d(op.maxPool2d(op.relu(op.conv2d(p.x, p.w1, undefined, { padding: 1 })), 2), p.w2)),
    float32: true,
    distinct: true,
    step: 1e-3,
  },
  {
    name: 'mlp chain',
    params: { x: [2, 3], w: [3, 4], b: [4] },
    build: (g, p) => op.softmaxCrossEntropy(op.tanh(op.add(op.matmul(p.x, p.w), p.b)), labels(g, [1, 3])),
  },
];

function fill(n: number, rng: Rng, positive: boolean, distinct = false): Float64Array {
  if (distinct) return Float64Array.from(rng.permutation(n), (k) => (k - n / 2) * 0.04);
  return Float64Array.from({ length: n }, () => (positive ? 0.5 + 1.5 * rng.float() : 2 * rng.float() - 1));
}

// float64: h = 1e-6, |analytic - numeric| <= 1e-6 * max(1, |numeric|).
// float32: h = 1e-2 (the loss is summed in float64; the step actually taken is measured after
// rounding to float32), tolerance 2e-3 * max(1, |numeric|). Measured worst cases (GRADCHECK_REPORT=1
// prints them): float64 ops <= 9.8e-10; float32 conv2d 2.6e-5, convTranspose2d 2.9e-5, pools 1.2e-6,
// erf 3.3e-5, gelu 1.6e-4, conv chain (h 1e-3) 3.2e-5.
const FLOAT32_STEP = 1e-2;
const FLOAT32_TOLERANCE = 2e-3;

async function check(c: Case): Promise<number> {
  const rng = new Rng(7);
  const dtype = c.float32 ? 'float32' : 'float64';
  const g = new Graph(c.name);
  const p: Record<string, Tensor> = {};
  for (const [name, dims] of Object.entries(c.params)) p[name] = g.param(name, dims, dtype);
  const out = c.build(g, p);
  expect(out.dtype).toBe(dtype);
  const outDims = out.dims as number[];
  const weights = fill(numel(outDims), rng, false);
  const grads = gradients(
    op.sum(op.mul(out, g.constant(c.float32 ? Float32Array.from(weights) : weights, outDims, dtype))),
    Object.values(p),
  );
  // The loss the finite differences read is summed in float64 even for float32 ops.
  const out64 = op.cast(out, 'float64');
  g.output(
    'loss',
    g.node(
      'ReduceSum',
      [g.node('Mul', [out64, g.constant(weights, outDims, 'float64')], out64)],
      { dims: [], dtype: 'float64' },
      { keepdims: 0 },
    ),
  );
  Object.keys(p).forEach((name, i) => g.output(`grad.${name}`, grads[i]));

  const session = await GraphSession.create(g.toBytes());
  const values = Object.fromEntries(
    Object.entries(c.params).map(([name, dims]) => {
      const v = fill(numel(dims), rng, !!c.positive, !!c.distinct);
      return [name, c.float32 ? Float64Array.from(Float32Array.from(v)) : v];
    }),
  );
  const feed = (v: Float64Array, dims: number[]): Value =>
    c.float32 ? { dtype: 'float32', dims, data: Float32Array.from(v) } : { dtype: 'float64', dims, data: v.slice() };
  const feeds = () => Object.fromEntries(Object.entries(values).map(([name, v]): [string, Value] => [name, feed(v, c.params[name])]));
  const analytic = await session.run(feeds());
  const lossOnly = { fetch: ['loss'] };
  const h = c.float32 ? (c.step ?? FLOAT32_STEP) : 1e-6;
  const tolerance = c.float32 ? FLOAT32_TOLERANCE : 1e-6;
  const round = c.float32 ? Math.fround : (v: number) => v;
  let worst = 0;
  for (const [name, v] of Object.entries(values)) {
    const got = analytic[`grad.${name}`].data as Float64Array | Float32Array;
    expect(Array.from(analytic[`grad.${name}`].dims)).toEqual(c.params[name]);
    for (let i = 0; i < v.length; i++) {
      const x0 = v[i];
      const [xUp, xDown] = [round(x0 + h), round(x0 - h)];
      v[i] = xUp;
      const up = ((await session.run(feeds(), lossOnly)).loss.data as Float64Array)[0];
      v[i] = xDown;
      const down = ((await session.run(feeds(), lossOnly)).loss.data as Float64Array)[0];
      v[i] = x0;
      const numeric = (up - down) / (xUp - xDown);
      const error = Math.abs(got[i] - numeric) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, error);
      expect(error).toBeLessThanOrEqual(tolerance);
    }
  }
  await session.close();
  return worst;
}

const f64 = (data: Float64Array, dims: number[]): Value => ({ dtype: 'float64', dims, data });

describe('gradients match central finite differences (float64, onnxruntime)', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const worst = await check(c);
    if (process.env.GRADCHECK_REPORT) console.log(`${c.name}: worst relative error ${worst.toExponential(2)}`);
  });
});

describe('gradients', () => {
  test('a parameter the loss does not use gets a zero gradient of its shape', async () => {
    const g = new Graph('unused');
    const a = g.param('a', [2], 'float64');
    const b = g.param('b', [3], 'float64');
    const [, gb] = gradients(op.sum(op.square(a)), [a, b]);
    g.output('gb', gb);
    const session = await GraphSession.create(g.toBytes());
    const out = await session.run({ a: f64(new Float64Array([1, 2]), [2]), b: f64(new Float64Array(3), [3]) });
    await session.close();
    expect(Array.from(out.gb.data as Float64Array)).toEqual([0, 0, 0]);
  });

  test('gradients through a symbolic batch dim average over the batch fed at run time', async () => {
    const g = new Graph('batch');
    const x = g.input('x', ['B', 2], 'float64');
    const w = g.param('w', [2], 'float64');
    const [gw] = gradients(op.mean(op.mul(x, w)), [w]);
    g.output('gw', gw);
    const session = await GraphSession.create(g.toBytes());
    const out = await session.run({ x: f64(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]), w: f64(new Float64Array(2), [2]) });
    await session.close();
    // d/dw mean over 6 elements of x*w = column sums / 6
    expect(Array.from(out.gw.data as Float64Array)).toEqual([(1 + 3 + 5) / 6, (2 + 4 + 6) / 6]);
  });
});

describe('causalMask', () => {
  test('gives a softmax the same values, forward and backward, as masking with a Where', async () => {
    // The mask is an added 0 / -1e9 bias (an identity backward); a Where writing -1e9 is the
    // textbook form. Masked weights underflow to exactly 0 in both, and so do their gradients.
    const [B, H, T] = [2, 3, 16];
    const g = new Graph('mask-equivalence');
    const s = g.param('s', [B, H, T, T], 'float32');
    const allowed = Uint8Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0));
    const viaWhere = op.softmax(op.where(g.constant(allowed, [T, T], 'bool'), s, -1e9), -1);
    const viaBias = op.softmax(op.causalMask(s), -1);
    const rng = new Rng(3);
    const w = g.constant(
      Float32Array.from({ length: B * H * T * T }, () => rng.normal()),
      [B, H, T, T],
      'float32',
    );
    const [gradWhere] = gradients(op.sum(op.mul(viaWhere, w)), [s]);
    const [gradBias] = gradients(op.sum(op.mul(viaBias, w)), [s]);
    g.output('yWhere', viaWhere);
    g.output('yBias', viaBias);
    g.output('gWhere', gradWhere);
    g.output('gBias', gradBias);
    const session = await GraphSession.create(g.toBytes());
    const scores = Float32Array.from({ length: B * H * T * T }, () => 4 * rng.normal());
    const out = await session.run({ s: { dtype: 'float32', dims: [B, H, T, T], data: scores } });
    await session.close();
    expect(Array.from(out.yBias.data as Float32Array)).toEqual(Array.from(out.yWhere.data as Float32Array));
    // Equal values; a masked gradient may be -0 where the Where wrote +0 (y * (g - sum) with y = 0),
    // which no later sum, product or update can tell apart: + 0 maps -0 to +0.
    const values = (v: Value) => Array.from(v.data as Float32Array, (x) => x + 0);
    expect(values(out.gBias)).toEqual(values(out.gWhere));
    // Masked positions: weight 0 and gradient 0.
    expect((out.yBias.data as Float32Array)[1]).toBe(0);
    expect((out.gBias.data as Float32Array)[1] + 0).toBe(0);
  });
});
