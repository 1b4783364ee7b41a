import { Rng } from '../rng';
import { InferenceSession } from '../runtime/inference-session';
import { buildEvalGraph } from '../step';
import type { TensorMap } from '../tensor';
import { causalLm } from './causal-lm';
import { initParams } from './init';
import { initLoraParams, loraA, loraB, loraParams, mergeLora, withLora } from './lora';
import { mlp } from './mlp';

describe('LoRA around any model', () => {
  const model = mlp({ inputSize: 6, hidden: [5], classesPerHead: 3, heads: 2 });
  const options = { weights: ['trunk.0.weight', 'head.1.weight'], rank: 2, alpha: 3 };
  const adapted = withLora(model, options);
  const batch = 4;
  const rng = new Rng(11);
  const x = Float32Array.from({ length: batch * 6 }, () => rng.normal());

  async function logits(m: typeof model, head: number, params: TensorMap): Promise<Float32Array> {
    const session = await InferenceSession.create(buildEvalGraph(m, head), params);
    try {
      return (await session.run(x, batch)).logits;
    } finally {
      await session.close();
    }
  }

  const randomB = (params: TensorMap): TensorMap => {
    const r = new Rng(3);
    const out = { ...params };
    for (const w of options.weights) {
      const b = params[loraB(w)];
      out[loraB(w)] = { dims: b.dims, data: Float32Array.from(b.data, () => r.normal()) };
    }
    return out;
  };

  test('adds A [in, r] (random) and B [r, out] (zeros) per weight; a head sees its own weights adapters', () => {
    expect(loraParams(model, options).map((p) => `${p.name}:${p.dims.join('x')}:${p.init}`)).toEqual([
      'trunk.0.weight.lora.A:6x2:normal',
      'trunk.0.weight.lora.B:2x5:zeros',
      'head.1.weight.lora.A:5x2:normal',
      'head.1.weight.lora.B:2x3:zeros',
    ]);
    expect(adapted.paramsForHead(0)).toEqual([...model.paramsForHead(0), 'trunk.0.weight.lora.A', 'trunk.0.weight.lora.B']);
    expect(adapted.paramsForHead(1)).toContain('head.1.weight.lora.B');
    const fresh = initLoraParams(model, options, 5, 0);
    expect(fresh[loraB('trunk.0.weight')].data.every((v) => v === 0)).toBe(true);
    expect(fresh[loraA('trunk.0.weight')].data.some((v) => v !== 0)).toBe(true);
    // Another task label draws another A; the same label the same A.
    expect(Array.from(initLoraParams(model, options, 5, 1)[loraA('trunk.0.weight')].data)).not.toEqual(
      Array.from(fresh[loraA('trunk.0.weight')].data),
    );
    expect(Array.from(initLoraParams(model, options, 5, 0)[loraA('trunk.0.weight')].data)).toEqual(
      Array.from(fresh[loraA('trunk.0.weight')].data),
    );
  });

  test.each([0, 1])('head %i: with B = 0 the adapted forward is the base forward, bit for bit', async (head) => {
    const params = { ...initParams(model, 2), ...initLoraParams(model, options, 2, 0) };
    expect(Array.from(await logits(adapted, head, params))).toEqual(Array.from(await logits(model, head, params)));
  });

  test.each([0, 1])('head %i: with B != 0 it is the base forward on W + (alpha/r) A B (merged by hand)', async (head) => {
    const params = randomB({ ...initParams(model, 2), ...initLoraParams(model, options, 2, 0) });
    const merged = { ...params, ...mergeLora(params, options) };
    const got = await logits(adapted, head, params);
    const want = await logits(model, head, merged);
    const base = await logits(model, head, params);
    const gap = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])));
    expect(gap).toBeLessThan(1e-5);
    // ...and the adapters changed the output (the comparison means something).
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - base[i])))).toBeGreaterThan(1e-2);
  });

  test('several adapters per weight: the forward sums those its head reads', async () => {
    const labelled = { weights: ['trunk.0.weight'], rank: 2, alpha: 3, labels: ['0', '1'], labelsForHead: (h: number) => [String(h)] };
    const perHead = withLora(model, labelled);
    const summed = withLora(model, { ...labelled, labelsForHead: undefined });
    expect(perHead.paramsForHead(1)).toEqual([...model.paramsForHead(1), 'trunk.0.weight.lora.1.A', 'trunk.0.weight.lora.1.B']);
    const r = new Rng(8);
    const params: TensorMap = { ...initParams(model, 2), ...initParams({ ...model, params: loraParams(model, labelled) }, 2) };
    for (const l of ['0', '1'])
      params[loraB('trunk.0.weight', l)] = { dims: [2, 5], data: Float32Array.from({ length: 10 }, () => r.normal()) };
    const one = (l: string) => ({
      weights: ['trunk.0.weight'],
      rank: 2,
      alpha: 3,
      a: params[loraA('trunk.0.weight', l)],
      b: params[loraB('trunk.0.weight', l)],
    });
    const mergedWith = (ls: string[]) => {
      let w = params['trunk.0.weight'];
      for (const l of ls) {
        const { a, b, ...options } = one(l);
        w = mergeLora({ 'trunk.0.weight': w, [loraA('trunk.0.weight')]: a, [loraB('trunk.0.weight')]: b }, options)['trunk.0.weight'];
      }
      return { ...params, 'trunk.0.weight': w };
    };
    const gap = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(gap(await logits(perHead, 1, params), await logits(model, 1, mergedWith(['1'])))).toBeLessThan(1e-5);
    expect(gap(await logits(summed, 0, params), await logits(model, 0, mergedWith(['0', '1'])))).toBeLessThan(1e-5);
    expect(gap(await logits(summed, 0, params), await logits(perHead, 0, params))).toBeGreaterThan(1e-2);
  });

  test('mergeLora adds exactly (alpha / r) A B, element by element', () => {
    const params = randomB({ ...initParams(model, 2), ...initLoraParams(model, options, 2, 0) });
    const merged = mergeLora(params, options);
    expect(Object.keys(merged)).toEqual(options.weights);
    const w = params['trunk.0.weight'];
    const a = params[loraA('trunk.0.weight')].data;
    const b = params[loraB('trunk.0.weight')].data;
    for (const [i, j] of [
      [0, 0],
      [5, 4],
      [3, 2],
    ]) {
      const byHand = w.data[i * 5 + j] + 1.5 * (a[i * 2] * b[j] + a[i * 2 + 1] * b[5 + j]);
      expect(merged['trunk.0.weight'].data[i * 5 + j]).toBeCloseTo(byHand, 6);
    }
  });

  test('wraps the causal LM: its projections by name, forward unchanged at B = 0', async () => {
    const lm = causalLm({ vocab: 16, context: 4, width: 8, depth: 1, attentionHeads: 2 });
    const weights = lm.params.filter((p) => /attn\.(qkv|proj)\.weight$/.test(p.name)).map((p) => p.name);
    const wrapped = withLora(lm, { weights, rank: 2, alpha: 4 });
    const params = { ...initParams(lm, 1), ...initLoraParams(lm, { weights, rank: 2, alpha: 4 }, 1, 0) };
    const tokens = Float32Array.from({ length: 8 }, (_, i) => i % 16);
    const run = async (m: typeof lm) => {
      const session = await InferenceSession.create(buildEvalGraph(m, 0), params);
      try {
        return Array.from((await session.run(tokens, 2)).logits);
      } finally {
        await session.close();
      }
    };
    expect(await run(wrapped)).toEqual(await run(lm));
  });

  test('refuses a missing weight, a non-matrix and a rank below 1, naming them', () => {
    expect(() => loraParams(model, { ...options, weights: ['trunk.9.weight'] })).toThrow("has no parameter 'trunk.9.weight'");
    expect(() => loraParams(model, { ...options, weights: ['trunk.0.bias'] })).toThrow(
      "'trunk.0.bias' has dims [5]; only [in, out] matrices get adapters",
    );
    expect(() => loraParams(model, { ...options, rank: 0 })).toThrow('rank must be a positive integer');
  });
});
