import { initOptimizerState, type OptimizerConfig } from '../optim';
import { InferenceSession, TrainSession } from '../runtime';
import { buildEvalGraph, buildStepGraph } from '../step';
import { numel } from '../tensor';
import { causalLm, mlpHidden, type CausalLmConfig } from './causal-lm';
import { initParams } from './init';
import type { Model } from './model';

const count = (model: Model) => model.params.reduce((n, p) => n + numel(p.dims), 0);

describe('causal LM', () => {
  test('defaults (rmsnorm, rotary, swiglu, tied): no position table, no head matrix, one head, a row per position', () => {
    const model = causalLm({ vocab: 256, context: 8, width: 16, depth: 1, attentionHeads: 2 });
    const dims = Object.fromEntries(model.params.map((p) => [p.name, p.dims.join('x')]));
    expect(dims).toEqual({
      'embed.token': '256x16',
      'block.0.norm1.gamma': '16',
      'block.0.attn.qkv.weight': '16x48',
      'block.0.attn.qkv.bias': '48',
      'block.0.attn.proj.weight': '16x16',
      'block.0.attn.proj.bias': '16',
      'block.0.norm2.gamma': '16',
      'block.0.mlp.gate.weight': '16x40',
      'block.0.mlp.gate.bias': '40',
      'block.0.mlp.up.weight': '16x40',
      'block.0.mlp.up.bias': '40',
      'block.0.mlp.proj.weight': '40x16',
      'block.0.mlp.proj.bias': '16',
      'final.norm.gamma': '16',
    });
    expect(model).toMatchObject({ heads: 1, classesPerHead: 256, targetsPerExample: 8, inputDims: [8] });
    expect(() => model.paramsForHead(1)).toThrow('a language model has one head, its vocabulary (head 0)');
  });

  test('layernorm, learned positions, gelu, untied add beta, the position table, fc and the head', () => {
    const names = causalLm({
      vocab: 32,
      context: 4,
      width: 8,
      depth: 1,
      attentionHeads: 2,
      norm: 'layernorm',
      positions: 'learned',
      mlp: 'gelu',
      tieEmbeddings: false,
    }).params.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'embed.position',
        'block.0.norm1.beta',
        'block.0.mlp.fc.weight',
        'final.norm.beta',
        'head.weight',
        'head.bias',
      ]),
    );
    expect(names).not.toContain('block.0.mlp.gate.weight');
  });

  test('parameter counts of a ~1M and a ~20M configuration', () => {
    // SwiGLU hidden = 2/3 * 4 * width rounded to a multiple of 8: 344 at width 128, 1368 at 512.
    expect(mlpHidden({ width: 128 })).toBe(344);
    expect(mlpHidden({ width: 512 })).toBe(1368);
    const small: CausalLmConfig = { vocab: 256, context: 128, width: 128, depth: 5, attentionHeads: 4 };
    const large: CausalLmConfig = { vocab: 256, context: 256, width: 512, depth: 6, attentionHeads: 8 };
    expect(count(causalLm(small))).toBe(1_028_976);
    expect(count(causalLm(large))).toBe(19_068_448);
    // Untying adds the [D, vocab] head and its bias; learned positions a [context, D] table.
    expect(count(causalLm({ ...small, tieEmbeddings: false, positions: 'learned' }))).toBe(1_028_976 + 128 * 256 + 256 + 128 * 128);
  });

  test('rotary positions need an even head width; a clear error names the numbers', () => {
    expect(() => causalLm({ vocab: 16, context: 4, width: 6, depth: 1, attentionHeads: 2 })).toThrow(
      'causal-lm: rotary positions need an even head width; width / attentionHeads = 6 / 2 = 3',
    );
  });

  test.each([
    ['rmsnorm, rotary, swiglu', {}],
    ['layernorm, learned, gelu', { norm: 'layernorm', positions: 'learned', mlp: 'gelu' }],
  ] as const)('causal (%s): changing a later token leaves every earlier position’s logits as they were', async (_name, extra) => {
    const T = 8;
    const V = 32;
    const model = causalLm({ vocab: V, context: T, width: 16, depth: 2, attentionHeads: 2, ...extra });
    const session = await InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 4));
    try {
      const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
      const base = (await session.run(Float32Array.from(tokens), 1)).logits;
      expect(base.length).toBe(T * V);
      const changed = [...tokens];
      changed[5] = 17;
      const after = (await session.run(Float32Array.from(changed), 1)).logits;
      const gapAt = (t: number) => Math.max(...Array.from(base.subarray(t * V, (t + 1) * V), (v, c) => Math.abs(v - after[t * V + c])));
      for (let t = 0; t < 5; t++) expect(gapAt(t)).toBe(0);
      for (let t = 5; t < T; t++) expect(gapAt(t)).toBeGreaterThan(1e-4);
    } finally {
      await session.close();
    }
  });

  test('learns to continue a repeated sequence: next-token loss at every position falls from ln(vocab) towards 0', async () => {
    const T = 12;
    const V = 16;
    const model = causalLm({ vocab: V, context: T, width: 32, depth: 2, attentionHeads: 2 });
    const opt: OptimizerConfig = { name: 'adam' };
    const step = buildStepGraph({ model, head: 0, optimizer: opt });
    expect(step.targetsPerExample).toBe(T);
    const session = await TrainSession.create(step, { ...initParams(model, 1), ...initOptimizerState(opt, model.params) });
    // A period-7 cycle over 7 of the 16 tokens: each token determines the next.
    const cycle = [2, 11, 5, 7, 0, 13, 9];
    const B = 8;
    const batch = (s: number) => {
      const x = new Float32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) {
          x[b * T + t] = cycle[(s + b + t) % 7];
          y[b * T + t] = cycle[(s + b + t + 1) % 7];
        }
      return { x, y };
    };
    try {
      const losses: number[] = [];
      for (let s = 0; s < 60; s++) {
        const { x, y } = batch(s);
        losses.push(await session.step(x, y, B, 0.01));
      }
      expect(losses[0]).toBeGreaterThan(0.8 * Math.log(V));
      expect(losses[losses.length - 1]).toBeLessThan(0.2);
      // One label per example is refused: the graph takes B * T labels.
      await expect(session.step(batch(0).x, new Int32Array(B), B, 0.01)).rejects.toThrow(
        `y has ${B} labels for batch ${B} of ${T} labels each`,
      );
    } finally {
      await session.close();
    }
  });
});
