import { GraphSession } from './runtime/graph-session';
import { fakeQuantizeStep, gradients, Graph, mul, sum } from './graph';
import { fakeQuantizeWeight, initialStepSizes, stepSizeName, withFakeQuantization, type FakeQuantScheme } from './qat';
import { mlp } from './models';
import { initParams } from './models/init';

/** Round half to even, as ONNX Round does. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const f32 = (values: number[]) => new Float32Array(values);

async function run(g: Graph, feeds: Record<string, { dims: number[]; data: Float32Array }>) {
  const s = await GraphSession.create(g.toBytes());
  try {
    const out = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dtype: 'float32' as const, ...v }])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  } finally {
    await s.close();
  }
}

describe('fakeQuantizeStep (STE and LSQ gradients)', () => {
  // w [3, 2], one step per column; loss = sum(c * fq(w)), so d loss / d fq = c.
  const w = f32([0.26, -0.031, -0.05, 0.5, 2.0, -0.001]);
  const steps = [0.1, 0.02];
  const c = [1, 2, 3, 4, 5, 6];
  const [qmin, qmax] = [-7, 7];

  function build(stepGradScale?: number) {
    const g = new Graph('fq-step');
    const wt = g.param('w', [3, 2]);
    const st = g.param('s', [1, 2]);
    const fq = fakeQuantizeStep(wt, st, { qmin, qmax, stepGradScale });
    const [gw, gs] = gradients(sum(mul(fq, g.constant(f32(c), [3, 2]))), [wt, st]);
    g.output('fq', fq);
    g.output('gw', gw);
    g.output('gs', gs);
    return g;
  }

  test('forward is clip(round(w/s)) * s; w gets the gradient inside the range only; s gets the hand-computed LSQ gradient', async () => {
    const gScale = 0.25;
    const out = await run(build(gScale), { w: { dims: [3, 2], data: w }, s: { dims: [1, 2], data: f32(steps) } });
    const v = Array.from(w, (x, i) => Math.fround(x / Math.fround(steps[i % 2])));
    const expectedFq = v.map((x, i) => Math.max(qmin, Math.min(qmax, roundHalfEven(x))) * Math.fround(steps[i % 2]));
    out.fq.forEach((x, i) => expect(x).toBeCloseTo(expectedFq[i], 6));
    // v = [2.6, -1.55, -0.5, 25, 20, -0.05]: elements 3 and 4 are clipped above.
    expect(out.gw).toEqual(c.map((ci, i) => (v[i] >= qmin && v[i] <= qmax ? ci : 0)));
    expect(out.gw).toContain(0);
    const dOutDs = v.map((x) => (x < qmin ? qmin : x > qmax ? qmax : roundHalfEven(x) - x));
    const expectedGs = [0, 1].map((col) => gScale * [0, 1, 2].reduce((acc, row) => acc + c[row * 2 + col] * dOutDs[row * 2 + col], 0));
    out.gs.forEach((x, i) => expect(x).toBeCloseTo(expectedGs[i], 5));
  });

  test('where every element is clipped, the LSQ step gradient (scale 1) equals a finite difference of the forward', async () => {
    // Clipped, fq = qmax * s exactly, so d fq / d s = qmax is the true derivative there.
    const big = f32([5, -5, 9, -9, 3, 7]);
    const at = async (s0: number, s1: number) =>
      run(build(1), { w: { dims: [3, 2], data: big }, s: { dims: [1, 2], data: f32([s0, s1]) } });
    const base = await at(0.125, 0.25);
    const h = 1e-3;
    const loss = (fq: number[]) => fq.reduce((a, x, i) => a + x * c[i], 0);
    const plus0 = await at(0.125 + h, 0.25);
    const plus1 = await at(0.125, 0.25 + h);
    expect(base.gs[0]).toBeCloseTo((loss(plus0.fq) - loss(base.fq)) / h, 2);
    expect(base.gs[1]).toBeCloseTo((loss(plus1.fq) - loss(base.fq)) / h, 2);
  });

  test('without a gradient scale the step is a constant: no gradient reaches it', async () => {
    const out = await run(build(undefined), { w: { dims: [3, 2], data: w }, s: { dims: [1, 2], data: f32(steps) } });
    expect(out.gs).toEqual([0, 0]);
  });
});

describe('fakeQuantizeWeight', () => {
  const rows = 5;
  const cols = 3;
  const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * (1 + (i % cols)));
  data[2] = 0; // column 2 then has an all-zero first block below
  data[5] = 0;

  async function forward(scheme: FakeQuantScheme) {
    const g = new Graph('fq-weight');
    const wt = g.param('w', [rows, cols]);
    g.output('fq', fakeQuantizeWeight('w', wt, scheme));
    return (await run(g, { w: { dims: [rows, cols], data } })).fq;
  }

  /** Min-max steps per group in plain TypeScript, the reference for the in-graph computation. */
  function reference(bits: 4 | 8, groupOf: (r: number, c: number) => number, groups: number) {
    const qmax = 2 ** (bits - 1) - 1;
    const absMax = new Float64Array(groups);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) absMax[groupOf(r, c)] = Math.max(absMax[groupOf(r, c)], Math.abs(data[r * cols + c]));
    const step = Array.from(absMax, (m) => (m > 0 ? Math.fround(m / qmax) : 1));
    return Array.from(data, (x, i) => {
      const s = step[groupOf(Math.floor(i / cols), i % cols)];
      return Math.max(-qmax, Math.min(qmax, roundHalfEven(Math.fround(x / s)))) * s;
    });
  }

  test.each([4, 8] as const)('int%i per channel: the min-max step of each column, computed in the graph', async (bits) => {
    const out = await forward({ bits, granularity: 'per-channel' });
    const expected = reference(bits, (_, c) => c, cols);
    out.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
  });

  test('int4 blocks of 2 rows (the last block short): min-max step per block and column', async () => {
    const out = await forward({ bits: 4, granularity: 'block', blockSize: 2 });
    const expected = reference(4, (r, c) => Math.floor(r / 2) * cols + c, 3 * cols);
    out.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    expect(out[2]).toBe(0); // an all-zero block stays exactly zero
  });
});

describe('withFakeQuantization', () => {
  const model = mlp({ inputSize: 4, hidden: [3], heads: 2, classesPerHead: 2 });
  const weights = Object.fromEntries(
    model.params.filter((p) => p.dims.length === 2).map((p) => [p.name, { bits: 4 as const, granularity: 'per-channel' as const }]),
  );

  test('with LSQ, each planned weight gets a trained step parameter, listed for the heads that read the weight', () => {
    const qat = withFakeQuantization(model, { weights, lsq: true });
    for (const name of Object.keys(weights)) expect(qat.params.map((p) => p.name)).toContain(stepSizeName(name));
    for (const head of [0, 1]) {
      const names = qat.paramsForHead(head);
      const planned = model.paramsForHead(head).filter((n) => weights[n]);
      expect(names.filter((n) => n.startsWith('qat.'))).toEqual(planned.map(stepSizeName));
    }
    expect(withFakeQuantization(model, { weights, lsq: false }).params).toEqual(model.params);
  });

  test('initial LSQ steps are 2 mean|w| / sqrt(qmax) per channel; steps already learned are kept', () => {
    const params = initParams(model, 3);
    const name = Object.keys(weights)[0];
    const init = initialStepSizes({ weights, lsq: true }, params);
    const w = params[name];
    const [rows, cols] = w.dims;
    const step = init[stepSizeName(name)];
    expect(step.dims).toEqual([cols]);
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += Math.abs(w.data[r * cols + c]);
      expect(step.data[c]).toBeCloseTo((2 * s) / rows / Math.sqrt(7), 6);
    }
    const again = initialStepSizes({ weights, lsq: true }, { ...params, ...init });
    expect(Object.keys(again)).toEqual([]);
  });

  test('rejects a planned weight the model does not have, or one that is not a matrix', () => {
    expect(() => withFakeQuantization(model, { weights: { nope: { bits: 4, granularity: 'per-channel' } }, lsq: false })).toThrow(
      /no parameter 'nope'/,
    );
    const bias = model.params.find((p) => p.dims.length === 1)!.name;
    expect(() => withFakeQuantization(model, { weights: { [bias]: { bits: 4, granularity: 'per-channel' } }, lsq: false })).toThrow(
      /only \[in, out\] matrix/,
    );
  });
});
