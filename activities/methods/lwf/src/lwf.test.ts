import { buildStepGraph, initParams, mlp, TrainSession, type TensorMap } from '@retain/engine';
import type { MethodContext, MethodTraining } from '@retain/sdk';
import { lwfMethod } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const current = initParams(model, 10);
const old = initParams(model, 11);
const names = model.paramsForHead(0);
const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1]);
const y = Int32Array.from([0, 2, 1]);

/** The tiny MLP's logits by hand: relu(x W0 + b0) W1 + b1. */
function logits(p: TensorMap, n: number): number[] {
  const w0 = p['trunk.0.weight'].data,
    b0 = p['trunk.0.bias'].data,
    w1 = p['head.0.weight'].data,
    b1 = p['head.0.bias'].data;
  const h = [0, 1, 2, 3].map((j) => Math.max(0, b0[j] + [0, 1, 2].reduce((s, i) => s + x[n * 3 + i] * w0[i * 4 + j], 0)));
  return [0, 1, 2].map((c) => b1[c] + h.reduce((s, v, j) => s + v * w1[j * 3 + c], 0));
}
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};
/** alpha * mean_n -sum_c softmax(z_old/T) log softmax(z_new/T), by hand. */
function byHand(at: TensorMap, T: number, alpha: number): number {
  let total = 0;
  for (let n = 0; n < 3; n++) {
    const target = softmax(logits(old, n).map((v) => v / T));
    const student = softmax(logits(at, n).map((v) => v / T));
    total -= target.reduce((s, t, c) => s + t * Math.log(student[c]), 0);
  }
  return (alpha * total) / 3;
}

async function stepWith(training: MethodTraining, at: TensorMap) {
  const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: training.step }), {
    ...at,
    ...(training.tensors ?? {}),
  });
  try {
    const loss = await session.step(x, y, 3, 1);
    const after = await session.read();
    return { loss, grad: Object.fromEntries(names.map((p) => [p, at[p].data.map((v, i) => v - after[p].data[i])])) };
  } finally {
    await session.close();
  }
}

describe('LwF distillation term', () => {
  const config = lwfMethod.configSchema.parse({ temperature: 2, alpha: 0.7 });
  const state = Object.fromEntries(Object.entries(old).map(([p, t]) => [`old.${p}`, t]));
  const ctx = { config, taskIndex: 1, model, head: 0, state } as unknown as MethodContext<typeof config>;

  it('adds alpha * the cross-entropy between the old and new model outputs at temperature T', async () => {
    const plain = await stepWith({}, current);
    const distilled = await stepWith(lwfMethod.training(ctx), current);
    expect(distilled.loss - plain.loss).toBeCloseTo(byHand(current, 2, 0.7), 5);
  });

  it('has the gradient finite differences of the term give (and none flows to the old model)', async () => {
    const plain = await stepWith({}, current);
    const distilled = await stepWith(lwfMethod.training(ctx), current);
    const h = 1e-3;
    for (const p of names)
      for (let i = 0; i < current[p].data.length; i += 3) {
        const shifted = (d: number) => ({
          ...current,
          [p]: { dims: current[p].dims, data: current[p].data.map((v, k) => (k === i ? v + d : v)) },
        });
        const numeric = (byHand(shifted(h), 2, 0.7) - byHand(shifted(-h), 2, 0.7)) / (2 * h);
        expect(distilled.grad[p][i] - plain.grad[p][i]).toBeCloseTo(numeric, 3);
      }
  });

  it('keeps the params after a task as its state, and adds nothing before it has any', async () => {
    expect(lwfMethod.training({ ...ctx, state: undefined })).toEqual({});
    const next = await lwfMethod.afterTask({
      ...ctx,
      params: current,
      taskData: () => undefined as never,
      task: undefined as never,
      seed: 1,
    });
    expect(Object.keys(next).sort()).toEqual(names.map((p) => `old.${p}`).sort());
  });
});
