import { Rng } from '../rng';
import { GraphSession, type Value } from '../runtime/graph-session';
import { gradients } from './autodiff';
import { Graph } from './graph';
import * as op from './ops';
import type { Tensor } from './tensor';

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
}

const labels = (g: Graph, values: number[]) => g.constant(BigInt64Array.from(values, BigInt), [values.length], 'int64');

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
  {
    name: 'mlp chain',
    params: { x: [2, 3], w: [3, 4], b: [4] },
    build: (g, p) => op.softmaxCrossEntropy(op.tanh(op.add(op.matmul(p.x, p.w), p.b)), labels(g, [1, 3])),
  },
];

function fill(n: number, rng: Rng, positive: boolean): Float64Array {
  return Float64Array.from({ length: n }, () => (positive ? 0.5 + 1.5 * rng.float() : 2 * rng.float() - 1));
}

async function check(c: Case): Promise<void> {
  const rng = new Rng(7);
  const g = new Graph(c.name);
  const p: Record<string, Tensor> = {};
  for (const [name, dims] of Object.entries(c.params)) p[name] = g.param(name, dims, 'float64');
  const out = c.build(g, p);
  expect(out.dtype).toBe('float64');
  const outDims = out.dims as number[];
  const r = g.constant(
    fill(
      outDims.reduce((a, b) => a * b, 1),
      rng,
      false,
    ),
    outDims,
    'float64',
  );
  const loss = op.sum(op.mul(out, r));
  const grads = gradients(loss, Object.values(p));
  g.output('loss', loss);
  Object.keys(p).forEach((name, i) => g.output(`grad.${name}`, grads[i]));

  const session = await GraphSession.create(g.toBytes());
  const values = Object.fromEntries(
    Object.entries(c.params).map(([name, dims]) => [
      name,
      fill(
        dims.reduce((a, b) => a * b, 1),
        rng,
        !!c.positive,
      ),
    ]),
  );
  const feeds = () =>
    Object.fromEntries(Object.entries(values).map(([name, v]): [string, Value] => [name, f64(v.slice(), c.params[name])]));
  const analytic = await session.run(feeds());
  const lossOnly = { fetch: ['loss'] };
  const h = 1e-6;
  for (const [name, v] of Object.entries(values)) {
    const got = analytic[`grad.${name}`].data as Float64Array;
    expect(Array.from(analytic[`grad.${name}`].dims)).toEqual(c.params[name]);
    for (let i = 0; i < v.length; i++) {
      const x0 = v[i];
      v[i] = x0 + h;
      const up = ((await session.run(feeds(), lossOnly)).loss.data as Float64Array)[0];
      v[i] = x0 - h;
      const down = ((await session.run(feeds(), lossOnly)).loss.data as Float64Array)[0];
      v[i] = x0;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(got[i] - numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
    }
  }
  await session.close();
}

const f64 = (data: Float64Array, dims: number[]): Value => ({ dtype: 'float64', dims, data });

describe('gradients match central finite differences (float64, onnxruntime)', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(c);
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
