import { conv2d, Graph, reshape } from '../graph';
import { initParams, mlp, type Model } from '../models';
import { Rng } from '../rng';
import { GraphSession } from '../runtime/graph-session';
import { captureLayerInputs } from './capture';
import { matrixView } from './weight';

describe('captureLayerInputs', () => {
  it("returns each linear layer's input: x for the first, relu(x W + b) of the previous for the next", async () => {
    const model = mlp({ inputSize: 5, hidden: [4], classesPerHead: 3, heads: 2 });
    const params = initParams(model, 3);
    const rng = new Rng(9);
    const n = 6;
    const x = Float32Array.from({ length: n * 5 }, () => rng.normal());
    const inputs = await captureLayerInputs(model, 1, params, x, n);
    expect(Object.keys(inputs).sort()).toEqual(['head.1.weight', 'trunk.0.weight']); // head 0 is not on head 1's path
    expect(Array.from(inputs['trunk.0.weight'])).toEqual(Array.from(x));
    const w = params['trunk.0.weight'].data;
    const b = params['trunk.0.bias'].data;
    let worst = 0;
    for (let s = 0; s < n; s++)
      for (let c = 0; c < 4; c++) {
        let v = b[c];
        for (let i = 0; i < 5; i++) v += x[s * 5 + i] * w[i * 4 + c];
        worst = Math.max(worst, Math.abs(Math.max(0, v) - inputs['head.1.weight'][s * 4 + c]));
      }
    expect(worst).toBeLessThan(1e-6);
  });

  it('refuses inputs whose size does not match the example count', async () => {
    const model = mlp({ inputSize: 5, hidden: [4], classesPerHead: 3, heads: 1 });
    await expect(captureLayerInputs(model, 0, initParams(model, 1), new Float32Array(7), 2)).rejects.toThrow(
      /7 values; 2 examples of \[5\] need 10/,
    );
  });

  it('with convPatches, gives a conv kernel its im2col patches: patches x the matrix view = the Conv output (stride, padding, dilation)', async () => {
    const [n, c, h, w, out] = [3, 2, 9, 8, 4];
    const opts = { stride: 2, padding: 1, dilation: 2 };
    const rng = new Rng(4);
    const kernel = { dims: [out, c, 3, 3], data: Float32Array.from({ length: out * c * 9 }, () => rng.normal()) };
    const x = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
    const model: Model = {
      name: 'one-conv',
      inputDims: [c, h, w],
      heads: 1,
      classesPerHead: 1,
      params: [{ name: 'k', dims: kernel.dims, init: 'zeros' }],
      paramsForHead: () => ['k'],
      forward: (g, p, xs) => reshape(conv2d(xs, p.k, undefined, opts), [-1, out * 4 * 3]),
    };
    const patches = (await captureLayerInputs(model, 0, { k: kernel }, x, n, { convPatches: true })).k;
    expect(await captureLayerInputs(model, 0, { k: kernel }, x, n).catch((e: Error) => e.message)).toMatch(/no MatMul/); // off by default
    // The Conv itself, run by onnxruntime.
    const g = new Graph('conv');
    g.output('y', conv2d(g.input('x', [n, c, h, w]), g.constant(kernel.data, kernel.dims), undefined, opts));
    const session = await GraphSession.create(g.toBytes());
    const y = (await session.run({ x: { dtype: 'float32', dims: [n, c, h, w], data: x } })).y;
    await session.close();
    const [ho, wo] = y.dims.slice(2);
    expect([ho, wo]).toEqual([4, 3]); // floor((9 + 2 - 5) / 2) + 1, floor((8 + 2 - 5) / 2) + 1: the width drops a column
    const k = c * 9;
    expect(patches).toHaveLength(n * ho * wo * k);
    const view = matrixView('k', kernel).data;
    let worst = 0;
    for (let p = 0; p < n * ho * wo; p++)
      for (let o = 0; o < out; o++) {
        let v = 0;
        for (let i = 0; i < k; i++) v += patches[p * k + i] * view[i * out + o];
        const [ex, oy, ox] = [Math.floor(p / (ho * wo)), Math.floor(p / wo) % ho, p % wo];
        worst = Math.max(worst, Math.abs(v - (y.data as Float32Array)[((ex * out + o) * ho + oy) * wo + ox]));
      }
    expect(worst).toBeLessThan(1e-5); // measured 1.4e-6: float32 sums of 18 products of O(1) values in another order
  });
});
