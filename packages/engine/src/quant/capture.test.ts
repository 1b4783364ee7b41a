import { initParams, mlp } from '../models';
import { Rng } from '../rng';
import { captureLayerInputs } from './capture';

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
});
