import { buildInferenceModel } from '../export';
import { gradients, Graph, sum, type Tensor } from '../graph';
import { initParams, mlp, paramSpec } from '../models';
import { Rng } from '../rng';
import { GraphSession, InferenceSession, type Value } from '../runtime';
import { quantizeRtn } from './grid';
import { fakeQuantizeWeight } from './qat';
import type { QuantScheme } from './weight';

const model = mlp({ inputSize: 40, hidden: [24], classesPerHead: 3, heads: 1 });
const params = initParams(model, 5);
const batch = 6;
const rng = new Rng(8);
const x = Float32Array.from({ length: batch * 40 }, () => rng.normal());

/** The training-side forward with fake-quantized matrix weights: logits and d(sum logits)/d(params). */
async function qatForward(scheme: QuantScheme) {
  const g = new Graph('qat-forward');
  const xIn = g.input('x', ['B', 40]);
  const raw: Record<string, Tensor> = {};
  const forward: Record<string, Tensor> = {};
  for (const name of model.paramsForHead(0)) {
    raw[name] = g.param(name, paramSpec(model, name).dims);
    forward[name] = raw[name].rank === 2 ? fakeQuantizeWeight(raw[name], scheme) : raw[name];
  }
  const logits = model.forward(g, forward, xIn, 0);
  const [grad] = gradients(sum(logits), [raw['trunk.0.weight']]);
  g.output('logits', logits);
  g.output('grad', grad);
  const feeds: Record<string, Value> = { x: { dtype: 'float32', dims: [batch, 40], data: x } };
  for (const name of Object.keys(raw)) feeds[name] = { dtype: 'float32', dims: params[name].dims, data: params[name].data };
  const session = await GraphSession.create(g.toBytes());
  try {
    const out = await session.run(feeds);
    return { logits: out.logits.data as Float32Array, grad: out.grad.data as Float32Array };
  } finally {
    await session.close();
  }
}

describe('quantization-aware training forward', () => {
  test.each([
    ['int4 per-channel', { bits: 4, symmetric: true, granularity: 'per-channel' }],
    ['int8 per-channel', { bits: 8, symmetric: true, granularity: 'per-channel' }],
    ['int4 per-tensor', { bits: 4, symmetric: true, granularity: 'per-tensor' }],
  ] as [string, QuantScheme][])('%s: equals the exported RTN model forward, and gradients pass straight through', async (_l, scheme) => {
    const qat = await qatForward(scheme);
    const weights = Object.fromEntries(['trunk.0.weight', 'head.0.weight'].map((n) => [n, quantizeRtn(params[n], scheme)]));
    const session = await InferenceSession.create(buildInferenceModel(model, 0, params, weights));
    const exported = (await session.run(x, batch)).logits;
    await session.close();
    const scale = Math.max(...Array.from(exported, Math.abs));
    const worst = Math.max(...Array.from(exported, (v, i) => Math.abs(v - qat.logits[i])));
    expect(worst).toBeLessThanOrEqual(1e-5 * scale);
    const fp32Session = await InferenceSession.create(buildInferenceModel(model, 0, params));
    const fp32 = (await fp32Session.run(x, batch)).logits;
    await fp32Session.close();
    expect(Math.max(...Array.from(fp32, (v, i) => Math.abs(v - qat.logits[i])))).toBeGreaterThan(1e-4); // it really quantizes
    expect(qat.grad.some((v) => v !== 0)).toBe(true); // the STE lets the gradient reach the float weight
  });

  it('refuses schemes it cannot fake-quantize yet, naming them', () => {
    const g = new Graph('x');
    expect(() => fakeQuantizeWeight(g.param('w', [4, 2]), { bits: 4, symmetric: false, granularity: 'per-channel' })).toThrow(
      /asymmetric per-channel/,
    );
  });
});
