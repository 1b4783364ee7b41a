import { buildStepGraph, initParams, mlp, TrainSession, type TensorMap } from '@retain/engine';
import type { MethodContext, MethodTraining } from '@retain/sdk';
import { adaptiveLrMethod, importanceScaling } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 12);
const names = model.paramsForHead(0);
const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3]);
const y = Int32Array.from([0, 2]);

async function update(training: MethodTraining): Promise<Record<string, number[]>> {
  const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: training.step }), {
    ...params,
    ...(training.tensors ?? {}),
  });
  try {
    await session.step(x, y, 2, 0.1 * (training.lrScale ?? 1));
    const after = await session.read();
    return Object.fromEntries(names.map((p) => [p, Array.from(params[p].data, (v, i) => v - after[p].data[i])]));
  } finally {
    await session.close();
  }
}

describe('adaptive-lr', () => {
  it('scales each param step by 1 / (1 + strength * F)', async () => {
    const importance: TensorMap = Object.fromEntries(
      names.map((p, k) => [p, { dims: params[p].dims, data: Float32Array.from(params[p].data, (_, i) => ((i + k) % 4) * 0.01) }]),
    );
    const plain = await update({});
    const scaled = await update(importanceScaling(importance, 100, names));
    for (const p of names) scaled[p].forEach((v, i) => expect(v).toBeCloseTo(plain[p][i] / (1 + 100 * importance[p].data[i]), 6));
  });

  it('decays the learning rate with the task index', () => {
    const config = adaptiveLrMethod.configSchema.parse({ taskDecay: 0.5 });
    const ctx = (taskIndex: number) => ({ config, taskIndex, model, head: 0 }) as unknown as MethodContext<typeof config>;
    expect(adaptiveLrMethod.training(ctx(0)).lrScale).toBe(1);
    expect(adaptiveLrMethod.training(ctx(3)).lrScale).toBe(0.125);
  });
});
