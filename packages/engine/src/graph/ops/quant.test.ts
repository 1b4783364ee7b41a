import { GraphSession } from '../../runtime/graph-session';
import { gradients } from '../autodiff';
import { Graph } from '../graph';
import { fakeQuantize } from './quant';
import { mul } from './arith';
import { sum } from './reduce';

/** Round half to even, as ONNX QuantizeLinear does. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

describe('fakeQuantize', () => {
  test.each([8, 4] as const)('int%i: forward is per-channel quantize-dequantize; gradient passes inside the range only', async (bits) => {
    const g = new Graph('fq');
    const w = g.param('w', [3, 2]);
    const scale = g.constant(new Float32Array([0.1, 0.02]), [2]);
    const fq = fakeQuantize(w, scale, bits, 1);
    const [grad] = gradients(sum(mul(fq, g.constant(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]))), [w]);
    g.output('fq', fq);
    g.output('grad', grad);
    const data = new Float32Array([0.26, -0.031, -0.05, 0.5, 20, -0.001]);
    const s = await GraphSession.create(g.toBytes());
    const out = await s.run({ w: { dtype: 'float32', dims: [3, 2], data } });
    await s.close();
    const qmax = 2 ** (bits - 1) - 1;
    const scales = [0.1, 0.02];
    const expected = Array.from(data, (v, i) =>
      Math.fround(Math.max(-qmax - 1, Math.min(qmax, roundHalfEven(v / Math.fround(scales[i % 2])))) * Math.fround(scales[i % 2])),
    );
    Array.from(out.fq.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    const inside = Array.from(data, (v, i) => (v >= -(qmax + 1) * scales[i % 2] && v <= qmax * scales[i % 2] ? i + 1 : 0));
    expect(Array.from(out.grad.data as Float32Array)).toEqual(inside);
    expect(inside).toContain(0); // the case includes clipped values
  });
});
