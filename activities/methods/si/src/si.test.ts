import { buildStepGraph, initParams, mlp, TrainSession, type TensorMap } from '@retain/engine';
import type { AfterTaskContext, MethodContext, MethodPlugin } from '@retain/sdk';
import { deltaName, omegaName, siMethod } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 9);
const names = model.paramsForHead(0);
const batches = [
  { x: Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3]), y: Int32Array.from([0, 2]) },
  { x: Float32Array.from([-2, 1, 0.1, 0.3, 0.3, -0.7]), y: Int32Array.from([1, 1]) },
];
const lr = 0.1;

/** Plain SGD steps through the step graph with `method`; returns everything the session holds. */
async function train(at: TensorMap, steps: typeof batches, training: { step?: never } | ReturnType<NonNullable<MethodPlugin['training']>>) {
  const t = training as { step?: Parameters<typeof buildStepGraph>[0]['method']; tensors?: TensorMap };
  const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: t.step }), {
    ...at,
    ...(t.tensors ?? {}),
  });
  try {
    for (const b of steps) await session.step(b.x, b.y, b.y.length, lr);
    return await session.read();
  } finally {
    await session.close();
  }
}

const method: MethodPlugin = siMethod;
const ctx = (taskIndex: number, state?: TensorMap) =>
  ({ config: method.configSchema.parse({}), seed: 1, taskIndex, model, head: 0, state }) as unknown as MethodContext;

describe('SI path integral', () => {
  it('on a 2-step toy equals sum_t -g_t * (theta_t+1 - theta_t), and delta the total move', async () => {
    const training = await method.training!(ctx(0));
    const trained = await train(params, batches, training);
    // By hand: theta_1 from one plain step; theta_2 is the trained params.
    const theta1 = await train(params, batches.slice(0, 1), {});
    for (const p of names) {
      const t0 = params[p].data;
      const t1 = theta1[p].data;
      const t2 = trained[p].data;
      // With plain SGD, theta_t+1 - theta_t = -lr g_t, so -g_t * move = move^2 / lr.
      trained[omegaName(p)].data.forEach((w, i) => {
        const expected = (t1[i] - t0[i]) ** 2 / lr + (t2[i] - t1[i]) ** 2 / lr;
        expect(w).toBeCloseTo(expected, 6);
      });
      trained[deltaName(p)].data.forEach((d, i) => expect(d).toBeCloseTo(t2[i] - t0[i], 6));
    }
    expect(trained[omegaName('trunk.0.weight')].data.some((w) => w > 1e-4)).toBe(true);
  });

  it('consolidates Omega = omega / (delta^2 + xi) and penalises c * Omega * (theta - anchor)^2 on the next task', async () => {
    const trained = await train(params, batches, await method.training!(ctx(0)));
    const after: TensorMap = Object.fromEntries(names.map((p) => [p, trained[p]]));
    const state = await method.afterTask!({ ...ctx(0), params: after, trained } as unknown as AfterTaskContext);
    const xi = (ctx(0).config as { xi: number }).xi;
    state!['importance.trunk.0.weight'].data.forEach((v, i) =>
      expect(v).toBeCloseTo(trained[omegaName('trunk.0.weight')].data[i] / (trained[deltaName('trunk.0.weight')].data[i] ** 2 + xi), 4),
    );
    expect(state!['anchor.head.0.bias'].data).toEqual(after['head.0.bias'].data);

    // On the next task the penalty's gradient is 2 c Omega (theta - anchor), and the path
    // integral still uses the task loss's gradient alone.
    const moved: TensorMap = Object.fromEntries(names.map((p) => [p, { dims: after[p].dims, data: after[p].data.map((v) => v + 0.01) }]));
    const withPenalty = await train(moved, batches.slice(0, 1), await method.training!(ctx(1, state)));
    const without = await train(moved, batches.slice(0, 1), {});
    const c = (ctx(0).config as { c: number }).c;
    for (const p of names)
      withPenalty[p].data.forEach((v, i) => {
        const penaltyGrad = 2 * c * state![`importance.${p}`].data[i] * 0.01;
        expect(v).toBeCloseTo(without[p].data[i] - lr * penaltyGrad, 5);
        const taskGrad = (moved[p].data[i] - without[p].data[i]) / lr;
        expect(withPenalty[omegaName(p)].data[i]).toBeCloseTo(-taskGrad * (v - moved[p].data[i]), 6);
      });
  });
});
