import { GraphSession } from '../runtime/graph-session';
import { causalMask, Graph, softmax } from '../graph';
import { initParams } from './init';
import { transformer } from './transformer';

describe('transformer', () => {
  const model = transformer({ vocab: 256, context: 6, width: 8, depth: 1, attentionHeads: 2, heads: 1 });

  test('params: token and position embeddings, per-block LayerNorm/attention/MLP, final LayerNorm, a 256-way head', () => {
    const dims = Object.fromEntries(model.params.map((p) => [p.name, p.dims.join('x')]));
    expect(dims).toMatchObject({
      'embed.token': '256x8',
      'embed.position': '6x8',
      'block.0.attn.qkv.weight': '8x24',
      'block.0.mlp.fc.weight': '8x32',
      'final.ln.gamma': '8',
      'head.0.weight': '8x256',
    });
    expect(Array.from(initParams(model, 1)['block.0.ln1.gamma'].data)).toEqual(Array(8).fill(1));
  });

  test('the last position attends to every token of the window; equal windows give equal logits', async () => {
    const g = new Graph('t');
    const x = g.input('x', ['B', 6]);
    const params = Object.fromEntries(model.params.map((p) => [p.name, g.param(p.name, p.dims)]));
    g.output('logits', model.forward(g, params, x, 0));
    const values = initParams(model, 2);
    const session = await GraphSession.create(
      g.toBytes(),
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { dtype: 'float32' as const, dims: v.dims, data: v.data }])),
    );
    try {
      const run = async (tokens: number[]) =>
        Array.from(
          (await session.run({ x: { dtype: 'float32', dims: [1, 6], data: Float32Array.from(tokens) } })).logits.data as Float32Array,
        );
      const base = await run([1, 2, 3, 4, 5, 6]);
      expect(base).toHaveLength(256);
      expect(await run([9, 2, 3, 4, 5, 6])).not.toEqual(base);
      expect(await run([1, 2, 3, 4, 5, 6])).toEqual(base);
    } finally {
      await session.close();
    }
  });

  test('causal attention weights: softmax(causalMask(scores)) is lower triangular with rows summing to 1', async () => {
    const g = new Graph('mask');
    const s = g.input('s', [1, 4, 4]);
    g.output('p', softmax(causalMask(s), -1));
    const session = await GraphSession.create(g.toBytes());
    try {
      const data = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
      const p = (await session.run({ s: { dtype: 'float32', dims: [1, 4, 4], data } })).p.data as Float32Array;
      for (let q = 0; q < 4; q++) {
        for (let k = q + 1; k < 4; k++) expect(p[q * 4 + k]).toBe(0);
        expect(p.slice(q * 4, q * 4 + q + 1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
        for (let k = 0; k <= q; k++) expect(p[q * 4 + k]).toBeGreaterThan(0);
      }
    } finally {
      await session.close();
    }
  });

  test('bad configs name the field', () => {
    expect(() => transformer({ vocab: 256, context: 6, width: 10, depth: 1, attentionHeads: 4, heads: 1 })).toThrow(
      /width 10 must be divisible by attentionHeads 4/,
    );
    expect(() => transformer({ vocab: 256, context: 0, width: 8, depth: 1, attentionHeads: 2, heads: 1 })).toThrow(/context/);
  });
});
