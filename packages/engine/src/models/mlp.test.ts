import { initParams } from './init';
import { mlp } from './mlp';

describe('mlp', () => {
  const model = mlp({ inputSize: 6, hidden: [5, 4], classesPerHead: 3, heads: 2 });

  test('declares every param with [in, out] weights and per-head heads', () => {
    expect(model.params.map((p) => `${p.name}:${p.dims.join('x')}`)).toEqual([
      'trunk.0.weight:6x5',
      'trunk.0.bias:5',
      'trunk.1.weight:5x4',
      'trunk.1.bias:4',
      'head.0.weight:4x3',
      'head.0.bias:3',
      'head.1.weight:4x3',
      'head.1.bias:3',
    ]);
    expect(model.paramsForHead(1)).toEqual([
      'trunk.0.weight',
      'trunk.0.bias',
      'trunk.1.weight',
      'trunk.1.bias',
      'head.1.weight',
      'head.1.bias',
    ]);
    expect(() => model.paramsForHead(2)).toThrow(/head 2 does not exist/);
    expect(mlp({ inputSize: 2, hidden: [2], classesPerHead: 2, heads: 1 }).paramsForHead(3)).toContain('head.0.weight');
  });

  test('initParams is deterministic, per-parameter, and scaled as He / Xavier', () => {
    const a = initParams(model, 5);
    expect(Array.from(initParams(model, 5)['trunk.0.weight'].data)).toEqual(Array.from(a['trunk.0.weight'].data));
    expect(Array.from(initParams(model, 6)['trunk.0.weight'].data)).not.toEqual(Array.from(a['trunk.0.weight'].data));
    // a model with more heads keeps the same trunk and head 0
    const wider = initParams(mlp({ inputSize: 6, hidden: [5, 4], classesPerHead: 3, heads: 5 }), 5);
    expect(Array.from(wider['head.0.weight'].data)).toEqual(Array.from(a['head.0.weight'].data));
    expect(Array.from(a['trunk.0.bias'].data)).toEqual([0, 0, 0, 0, 0]);
    const big = initParams(mlp({ inputSize: 400, hidden: [300], classesPerHead: 10, heads: 1 }), 1);
    const std = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(std(big['trunk.0.weight'].data)).toBeCloseTo(Math.sqrt(2 / 400), 3);
    expect(std(big['head.0.weight'].data)).toBeCloseTo(Math.sqrt(2 / 310), 2);
  });
});
