import { buildInferenceModel } from '../export';
import { decodeModel } from '../onnx/proto';
import { Rng } from '../rng';
import { InferenceSession } from '../runtime';
import { buildEvalGraph } from '../step';
import { cnn } from './cnn';
import { initParams } from './init';
import type { Model } from './model';
import { transformer } from './transformer';
import { causalLm } from './causal-lm';
import { numel } from '../tensor';

// Every model exports as a plain inference ONNX file (weights as initializers, no other inputs)
// that gives the eval graph's outputs.
const models: [string, Model, (rng: Rng) => number][] = [
  ['cnn lenet, two task heads', cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 10, heads: 2 }), (rng) => rng.normal()],
  ['cnn resnet', cnn({ arch: 'resnet', image: [1, 12, 12], classesPerHead: 5, heads: 1, channels: [4, 8, 8] }), (rng) => rng.normal()],
  [
    'transformer',
    transformer({ vocab: 256, context: 8, width: 16, depth: 2, attentionHeads: 2, heads: 2, classesPerHead: 256 }),
    (rng) => rng.int(256),
  ],
  [
    'causal lm (rmsnorm, rotary, swiglu, tied)',
    causalLm({ vocab: 64, context: 8, width: 16, depth: 2, attentionHeads: 2 }),
    (rng) => rng.int(64),
  ],
  [
    'causal lm (layernorm, learned positions, gelu, untied)',
    causalLm({
      vocab: 64,
      context: 8,
      width: 16,
      depth: 2,
      attentionHeads: 2,
      norm: 'layernorm',
      positions: 'learned',
      mlp: 'gelu',
      tieEmbeddings: false,
    }),
    (rng) => rng.int(64),
  ],
];

describe('export of the new models', () => {
  test.each(models)('%s: exported model (weights inside) = eval graph (weights fed), same logits and preds', async (_name, model, draw) => {
    const head = model.heads - 1;
    // non-zero everywhere (zero-initialised convs and biases would hide a wiring mistake)
    const rng = new Rng(3);
    const params = initParams(model, 9);
    for (const t of Object.values(params)) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.05 * rng.normal();
    const batch = 5;
    const features = numel(model.inputDims);
    const x = Float32Array.from({ length: batch * features }, () => draw(rng));
    const bytes = buildInferenceModel(model, head, params);
    const graph = decodeModel(bytes).graph;
    expect(graph.input.map((i) => i.name)).toEqual(['x']);
    expect(graph.initializer.length).toBeGreaterThanOrEqual(model.paramsForHead(head).length);

    const evalSession = await InferenceSession.create(buildEvalGraph(model, head), params);
    const exported = await InferenceSession.create(bytes);
    try {
      const a = await evalSession.run(x, batch);
      const b = await exported.run(x, batch);
      expect(a.logits.length).toBe(batch * (model.targetsPerExample ?? 1) * model.classesPerHead);
      const scale = Math.max(...Array.from(a.logits, Math.abs));
      const gap = Math.max(...Array.from(a.logits, (v, i) => Math.abs(v - b.logits[i])));
      // Equal up to float32 summation order: ORT runs Conv with constant weights through another
      // (prepacked) kernel. Measured: lenet 3.2e-7, resnet 1.3e-7 relative; the transformer, 0.
      expect(gap).toBeLessThanOrEqual(2e-6 * scale);
      expect(Array.from(b.pred!)).toEqual(Array.from(a.pred!));
      expect(new Set(Array.from(a.logits)).size).toBeGreaterThan(batch); // real, varied outputs
      expect(a.logits.every(Number.isFinite)).toBe(true);
    } finally {
      await evalSession.close();
      await exported.close();
    }
  });
});
