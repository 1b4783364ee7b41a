import { cnn } from './cnn';
import { initParams } from './init';

describe('cnn', () => {
  test('lenet: PyTorch-layout conv kernels, 16*5*5 features into the fc layers, a head per task', () => {
    const model = cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 10, heads: 3 });
    const dims = Object.fromEntries(model.params.map((p) => [p.name, p.dims.join('x')]));
    expect(dims).toMatchObject({
      'conv.0.weight': '6x1x5x5',
      'conv.1.weight': '16x6x5x5',
      'fc.0.weight': '400x120',
      'fc.1.weight': '120x84',
      'head.2.weight': '84x10',
    });
    expect(model.inputDims).toEqual([1, 28, 28]);
    expect(model.paramsForHead(1)).toContain('head.1.bias');
    expect(model.paramsForHead(1)).not.toContain('head.0.bias');
    expect(() => model.paramsForHead(3)).toThrow(/head 3 does not exist/);
  });

  test('resnet: conv kernels are He-scaled by C_in*k*k; each block starts as its shortcut (second conv zero)', () => {
    const model = cnn({ arch: 'resnet', image: [1, 28, 28], classesPerHead: 10, heads: 1, channels: [16, 32] });
    expect(model.params.map((p) => p.name)).toContain('block.1.shortcut.weight');
    expect(model.params.map((p) => p.name)).not.toContain('block.0.shortcut.weight');
    const p = initParams(model, 1);
    const std = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(std(p['block.1.conv1.weight'].data)).toBeCloseTo(Math.sqrt(2 / (16 * 9)), 2);
    expect(p['block.0.conv2.weight'].data.every((v) => v === 0)).toBe(true);
  });

  test('bad configs name the field', () => {
    expect(() => cnn({ arch: 'lenet', image: [1, 8, 8], classesPerHead: 2, heads: 1 })).toThrow(/8x8 are too small/);
    expect(() => cnn({ arch: 'vgg' as 'lenet', image: [1, 28, 28], classesPerHead: 2, heads: 1 })).toThrow(/arch must be/);
    expect(() => cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 0, heads: 1 })).toThrow(/classesPerHead/);
  });
});
