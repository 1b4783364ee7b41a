import { mlpModel } from './index';

const scenario = { name: 's', tasks: 3, heads: 3, classesPerHead: 2, inputDims: [28, 28], taskNames: ['a', 'b', 'c'] };

describe('mlp model plugin', () => {
  it('shapes the network from the scenario: flattened input, one head per task, classes per head', () => {
    const model = mlpModel.build(mlpModel.configSchema.parse({ hidden: [32, 16] }), scenario);
    expect(model.heads).toBe(3);
    expect(model.classesPerHead).toBe(2);
    const dims = Object.fromEntries(model.params.map((p) => [p.name, p.dims]));
    expect(Object.values(dims)).toContainEqual([784, 32]);
    expect(Object.values(dims)).toContainEqual([16, 2]);
    // The trunk is shared, each head belongs to its task.
    const head0 = model.paramsForHead(0);
    const head2 = model.paramsForHead(2);
    expect(head0.filter((n) => head2.includes(n)).length).toBe(4); // two hidden layers: weight + bias each
    expect(head0.length).toBe(6);
  });

  it('defaults to two hidden layers of 256 with ReLU, and rejects an empty or zero-width layer list', () => {
    expect(mlpModel.configSchema.parse({})).toEqual({ hidden: [256, 256], activation: 'relu' });
    expect(mlpModel.configSchema.safeParse({ hidden: [] }).success).toBe(false);
    expect(mlpModel.configSchema.safeParse({ hidden: [0] }).success).toBe(false);
  });
});
