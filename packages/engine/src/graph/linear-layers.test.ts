import { cnn, mlp, transformer, type Model } from '../models';
import { Graph } from './graph';
import { linearLayers } from './linear-layers';
import { add, matmul, relu } from './ops';
import type { Tensor } from './tensor';

/** The forward of `model`'s head on params as graph params; the layers by every param, named. */
function layersOf(model: Model, head: number) {
  const g = new Graph(model.name);
  const x = g.input('x', ['B', ...model.inputDims]);
  const params: Record<string, Tensor> = {};
  for (const p of model.paramsForHead(head)) params[p] = g.param(p, model.params.find((s) => s.name === p)!.dims);
  for (const b of model.buffers ?? []) params[b.name] = g.input(b.name, b.dims);
  const nameOf = new Map(Object.entries(params).map(([name, t]) => [t, name]));
  const layers = linearLayers([model.forward(g, params, x, head)], new Set(Object.values(params)));
  return {
    x,
    params,
    layers,
    named: layers.map((l) => `${l.op.type} ${nameOf.get(l.weight)} + ${l.bias ? nameOf.get(l.bias.value) : '-'}`),
  };
}

describe('linearLayers', () => {
  test("an MLP: each layer's weight, input, product and bias add, in forward order; other heads absent", () => {
    const model = mlp({ inputSize: 5, hidden: [4, 3], classesPerHead: 2, heads: 3 });
    const { x, params, layers, named } = layersOf(model, 1);
    expect(named).toEqual([
      'MatMul trunk.0.weight + trunk.0.bias',
      'MatMul trunk.1.weight + trunk.1.bias',
      'MatMul head.1.weight + head.1.bias',
    ]);
    expect(layers[0].input).toBe(x);
    layers.forEach((l, i) => {
      expect(l.output.op?.type).toBe('MatMul');
      expect(l.output.op?.inputs).toEqual([l.input, l.weight]);
      expect(l.bias!.added.op?.type).toBe('Add');
      expect(l.bias!.added.op?.inputs).toEqual([l.output, params[model.paramsForHead(1)[2 * i + 1]]]);
      // each next layer reads relu(the previous layer's bias add)
      if (i > 0) expect(l.input.op).toMatchObject({ type: 'Relu', inputs: [layers[i - 1].bias!.added] });
    });
  });

  test('a LeNet: the convs (window attributes, bias as third input) and then the fully connected layers', () => {
    const model = cnn({ arch: 'lenet', image: [1, 12, 12], classesPerHead: 3, heads: 1 });
    const { x, layers, named } = layersOf(model, 0);
    expect(named).toEqual([
      'Conv conv.0.weight + conv.0.bias',
      'Conv conv.1.weight + conv.1.bias',
      ...model.params.filter((p) => /^fc\.\d\.weight$/.test(p.name)).map((p) => `MatMul ${p.name} + ${p.name.replace('weight', 'bias')}`),
      'MatMul head.0.weight + head.0.bias',
    ]);
    expect(layers[0].input).toBe(x);
    expect(layers[0].op.attrs).toMatchObject({ kernel_shape: [5, 5], pads: [2, 2, 2, 2], group: 1 });
    expect(layers[0].bias!.added).toBe(layers[0].output); // the Conv adds its bias itself
    expect(layers[0].output.dims).toEqual(['B', 6, 12, 12]);
  });

  test('a ResNet with batch norm: bias-free convs (shortcuts included), then the head', () => {
    const model = cnn({ arch: 'resnet', image: [3, 8, 8], classesPerHead: 3, heads: 1, norm: 'batch' });
    const { named } = layersOf(model, 0);
    const convs = ['stem', 'block.0.conv1', 'block.0.conv2', 'block.1.conv1', 'block.1.conv2', 'block.1.shortcut'];
    expect(named).toEqual([...convs.map((c) => `Conv ${c}.weight + -`), 'MatMul head.0.weight + head.0.bias']);
  });

  test('a transformer: qkv, proj, fc, proj per block and the head; embeddings and norms are no layers', () => {
    const model = transformer({ vocab: 16, context: 4, width: 8, depth: 2, attentionHeads: 2, heads: 1 });
    const { layers, named } = layersOf(model, 0);
    const block = (i: number) =>
      ['attn.qkv', 'attn.proj', 'mlp.fc', 'mlp.proj'].map((l) => `MatMul block.${i}.${l}.weight + block.${i}.${l}.bias`);
    expect(named).toEqual([...block(0), ...block(1), 'MatMul head.0.weight + head.0.bias']);
    expect(layers[0].input.dims).toEqual(['B', 4, 8]); // [B, T, D]: a layer input keeps its sequence axis
  });

  test('a weight read twice is two layers; an add of something else is no bias; weights not asked for are left out', () => {
    const g = new Graph('shared');
    const x = g.input('x', ['B', 3]);
    const w = g.param('w', [3, 3]);
    const other = g.param('other', [3, 3]);
    const b = g.param('b', [3]);
    const h = add(matmul(x, w), g.input('c', [3]));
    const y = add(matmul(matmul(relu(h), w), other), b);
    const layers = linearLayers([y], new Set([w, b]));
    expect(layers.map((l) => l.weight)).toEqual([w, w]);
    expect(layers.map((l) => l.bias)).toEqual([undefined, undefined]); // b is added to the product by `other`
    expect(linearLayers([y], new Set([other, b])).map((l) => l.bias?.value)).toEqual([b]);
  });
});
