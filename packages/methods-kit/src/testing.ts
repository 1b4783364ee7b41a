/**
 * Helpers for method tests, here and in the method plugins (`@retain/methods-kit/testing`): tiny
 * in-memory data and one plain SGD step read back as loss and gradient. Not part of the runtime API.
 */
import { buildStepGraph, TrainSession, type Model, type TensorMap } from '@retain/engine';
import type { SampleSet } from '@retain/data';
import type { Batch, MethodTraining } from '@retain/sdk';

/** A tiny in-memory sample set: n samples of 3 features, labels 0..2. */
export function tinySet(n: number, seed = 1): SampleSet {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const x = Float32Array.from({ length: n * 3 }, next);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    n,
    inputDims: [3],
    labels,
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * 3);
      for (let k = 0; k < indices.length; k++) target.set(x.subarray(indices[k] * 3, indices[k] * 3 + 3), k * 3);
      return target;
    },
  };
}

/** Loss and the gradient of every param of head 0 on one batch, read off one plain SGD step with lr = 1. */
export async function lossAndGrad(model: Model, method: MethodTraining, at: TensorMap, x: Float32Array, y: Int32Array) {
  const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: method.step });
  const session = await TrainSession.create(step, { ...at, ...(method.tensors ?? {}) });
  try {
    const loss = await session.step(x, y, y.length, 1);
    const after = await session.read();
    const grad: TensorMap = {};
    for (const p of model.paramsForHead(0)) grad[p] = { dims: at[p].dims, data: at[p].data.map((v, i) => v - after[p].data[i]) };
    return { loss, grad };
  } finally {
    await session.close();
  }
}

/** The loss of one plain SGD step (lr 1) through `head` with `training`'s batch source, and the params after it. */
export async function stepThroughHead(model: Model, params: TensorMap, head: number, training: MethodTraining, current: Batch) {
  const graph = buildStepGraph({ model, head, optimizer: { name: 'sgd' }, trainable: training.trainable, method: training.step });
  const session = await TrainSession.create(graph, params);
  try {
    const { batch, feeds } = training.batches!(0, current);
    const loss = await session.step(batch.x, batch.y, batch.size, 1, feeds);
    return { loss, after: await session.read() };
  } finally {
    await session.close();
  }
}
