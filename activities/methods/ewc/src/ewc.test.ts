import { initParams, mlp, type TensorMap } from '@retain/engine';
import type { AfterTaskContext, MethodPlugin } from '@retain/sdk';
import { fisherDiagonal } from '@retain/methods-kit';
import { lossAndGrad, tinySet } from '@retain/methods-kit/testing';
import { ewcMethod, onlineEwcMethod } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 5);
const names = model.paramsForHead(0);

describe('ewc and online-ewc state', () => {
  const set = tinySet(6, 9);
  const task = { index: 0, name: 't', classes: [0, 1, 2], train: set, test: set };
  const ctx = (method: MethodPlugin, taskIndex: number, at: TensorMap, state?: TensorMap): AfterTaskContext =>
    ({
      config: method.configSchema.parse({ fisherSamples: 6 }),
      seed: 1,
      taskIndex,
      task: { ...task, index: taskIndex },
      model,
      head: 0,
      taskData: () => task,
      state,
      params: at,
    }) as AfterTaskContext;

  it('ewc keeps one Fisher and anchor per finished task and penalises each', async () => {
    const ewc: MethodPlugin = ewcMethod;
    const s1 = await ewc.afterTask!(ctx(ewc, 0, params));
    const later = initParams(model, 6);
    const s2 = await ewc.afterTask!(ctx(ewc, 1, later, s1));
    expect(Object.keys(s2!).filter((k) => k.startsWith('ewc.0.'))).toHaveLength(2 * names.length);
    expect(Object.keys(s2!).filter((k) => k.startsWith('ewc.1.'))).toHaveLength(2 * names.length);
    expect(s2!['ewc.1.anchor.trunk.0.weight'].data).toEqual(later['trunk.0.weight'].data);
    const training = await ewc.training!({ ...ctx(ewc, 2, later, s2) });
    expect(Object.keys(training.step?.constants ?? {})).toHaveLength(4 * names.length);
  });

  it('online-ewc over 3 tasks: penalty lambda/2 sum (g^2 F1 + g F2 + F3)(theta - theta3)^2, by hand', async () => {
    const online: MethodPlugin = onlineEwcMethod;
    const config = online.configSchema.parse({ fisherSamples: 6, lambda: 4, gamma: 0.5 }) as { lambda: number; gamma: number };
    const after = [initParams(model, 21), initParams(model, 22), initParams(model, 23)]; // params after tasks 0, 1, 2
    let state: TensorMap | undefined;
    for (let t = 0; t < 3; t++) state = await online.afterTask!({ ...ctx(online, t, after[t], state), config });
    // Each task's own Fisher, computed apart (the same seeded samples the method uses).
    const own = await Promise.all(
      after.map((at, t) => fisherDiagonal({ model, head: 0, params: at, samples: set, count: 6, seed: 1, taskIndex: t })),
    );
    const { lambda, gamma } = config;
    const theta = initParams(model, 24);
    let byHand = 0;
    for (const p of names)
      theta[p].data.forEach((v, i) => {
        const f = gamma ** 2 * own[0][p].data[i] + gamma * own[1][p].data[i] + own[2][p].data[i];
        byHand += (lambda / 2) * f * (v - after[2][p].data[i]) ** 2;
      });
    expect(byHand).toBeGreaterThan(0.1);
    const training = await online.training!({ ...ctx(online, 3, after[2], state), config });
    const x = set.gather([0, 1, 2, 3, 4, 5]);
    const plain = await lossAndGrad(model, {}, theta, x, set.labels);
    const penalised = await lossAndGrad(model, training, theta, x, set.labels);
    // Measured 1.73150 by hand and 1.73150 from the step graph's loss (float32).
    expect(penalised.loss - plain.loss).toBeCloseTo(byHand, 4);
  });

  it('online-ewc decays the running Fisher by gamma and adds the new one', async () => {
    const online: MethodPlugin = onlineEwcMethod;
    const first = ctx(online, 0, params);
    const s1 = await online.afterTask!(first);
    const s2 = await online.afterTask!({ ...ctx(online, 1, params, s1) });
    const gamma = (first.config as { gamma: number }).gamma;
    // Same params, same samples (the sample choice is seeded by task, all 6 are used): F2 = gamma F1 + F1.
    s2!['fisher.trunk.0.weight'].data.forEach((v, i) => expect(v).toBeCloseTo((1 + gamma) * s1!['fisher.trunk.0.weight'].data[i], 6));
    expect(Object.keys(s2!).filter((k) => k.startsWith('anchor.'))).toHaveLength(names.length);
  });
});
