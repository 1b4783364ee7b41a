import { buildStepGraph, initParams, TrainSession, type TensorMap } from '@retain/engine';
import type { MethodContext } from '@retain/sdk';
import { pnnMethod, pnnModel, progressiveMlp } from './index';

const model = progressiveMlp({ inputSize: 3, hidden: [4, 5], classesPerHead: 2, columns: 3 });
const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1, 0.3, 0.3, -0.7]);
const y = Int32Array.from([0, 1, 1, 0]);

/** Trains `steps` SGD steps on head `t` with the params pnn says; returns every param after. */
async function trainColumn(params: TensorMap, t: number, steps: number): Promise<TensorMap> {
  const { trainable } = pnnMethod.training({ model, head: t, config: {} } as unknown as MethodContext<Record<string, never>>);
  const step = buildStepGraph({ model, head: t, optimizer: { name: 'sgd', momentum: 0.9 }, trainable });
  const initial: TensorMap = Object.fromEntries(step.paramNames.map((p) => [p, params[p]]));
  for (const s of step.stateNames) initial[s] = { dims: params[s.slice(2)].dims, data: new Float32Array(params[s.slice(2)].data.length) };
  const session = await TrainSession.create(step, initial);
  try {
    for (let s = 0; s < steps; s++) await session.step(x, y, 4, 0.1);
    const after = await session.read();
    return { ...params, ...Object.fromEntries(trainable!.map((p) => [p, after[p]])) };
  } finally {
    await session.close();
  }
}

describe('progressive networks', () => {
  it('trains only the new column: earlier columns are bit-identical after a new task', async () => {
    const start = initParams(model, 3);
    const after0 = await trainColumn(start, 0, 5);
    const after1 = await trainColumn(after0, 1, 5);
    const after2 = await trainColumn(after1, 2, 5);
    for (const p of model.params.map((s) => s.name)) {
      const column = Number(p.split('.')[1]);
      const before = column === 0 ? after0 : column === 1 ? after1 : after2;
      // Every param of column c changes while task c trains and never again.
      expect(after2[p].data).toEqual(before[p].data);
      const prior = column === 0 ? start : column === 1 ? after0 : after1;
      if (!p.endsWith('bias')) expect(before[p].data).not.toEqual(prior[p].data);
    }
  });

  it('reads earlier columns through lateral adapters: head 1 depends on column 0', () => {
    expect(model.paramsForHead(1)).toEqual(
      expect.arrayContaining(['col.0.0.weight', 'col.1.1.lateral.0.weight', 'col.1.head.lateral.0.weight']),
    );
    expect(model.paramsForHead(0).some((p) => p.startsWith('col.1.'))).toBe(false);
  });

  it('needs its model and a head per task', () => {
    expect(() => pnnMethod.training({ model: { name: 'mlp-784-10' }, head: 0 } as never)).toThrow(/pnn-mlp/);
    expect(() =>
      pnnModel.build({ hidden: [8] }, { name: 'permuted', tasks: 2, heads: 1, classesPerHead: 10, inputDims: [4], taskNames: ['a', 'b'] }),
    ).toThrow(/head per task/);
  });
});
