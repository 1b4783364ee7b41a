import { initParams, mlp, type TensorMap } from '@retain/engine';
import { namespace, Namespace, quadraticPenalty } from './index';
import { lossAndGrad, tinySet } from './testing';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 5);
const names = model.paramsForHead(0);

const filled = (t: { dims: number[]; data: Float32Array }, f: (i: number) => number) => ({
  dims: [...t.dims],
  data: Float32Array.from(t.data, (_, i) => f(i)),
});

describe('quadratic penalty', () => {
  const fisher: TensorMap = Object.fromEntries(names.map((p, k) => [p, filled(params[p], (i) => 0.1 + ((i * 7 + k) % 5) * 0.2)]));
  const anchor: TensorMap = Object.fromEntries(
    names.map((p, k) => [p, filled(params[p], (i) => params[p].data[i] + 0.05 * (((i + k) % 3) - 1))]),
  );
  const inputs = new Namespace(['ewc', 0]);
  const lambda = 3;
  const set = tinySet(6);
  const x = set.gather([0, 1, 2, 3, 4, 5]);
  const y = set.labels;

  /** lambda/2 * sum_i F_i (theta_i - a_i)^2, by hand. */
  const byHand = (theta: TensorMap) =>
    (lambda / 2) *
    names.reduce((s, p) => s + theta[p].data.reduce((q, v, i) => q + fisher[p].data[i] * (v - anchor[p].data[i]) ** 2, 0), 0);

  it('adds lambda/2 * sum F (theta - theta*)^2 to the loss', async () => {
    const plain = await lossAndGrad(model, {}, params, x, y);
    const penalised = await lossAndGrad(model, quadraticPenalty([{ inputs, weights: fisher, anchor }], lambda / 2, names), params, x, y);
    expect(byHand(params)).toBeGreaterThan(1e-3);
    expect(penalised.loss - plain.loss).toBeCloseTo(byHand(params), 5);
  });

  it('has the gradient finite differences of the penalty give', async () => {
    const penalty = quadraticPenalty([{ inputs, weights: fisher, anchor }], lambda / 2, names);
    const plain = await lossAndGrad(model, {}, params, x, y);
    const penalised = await lossAndGrad(model, penalty, params, x, y);
    const h = 1e-2; // the penalty is quadratic: central differences are exact up to rounding
    for (const p of names) {
      for (let i = 0; i < params[p].data.length; i++) {
        const shifted = (d: number) => ({ ...params, [p]: filled(params[p], (k) => params[p].data[k] + (k === i ? d : 0)) });
        const numeric = (byHand(shifted(h)) - byHand(shifted(-h))) / (2 * h);
        const graph = penalised.grad[p].data[i] - plain.grad[p].data[i];
        expect(graph).toBeCloseTo(numeric, 4);
        expect(graph).toBeCloseTo(lambda * fisher[p].data[i] * (params[p].data[i] - anchor[p].data[i]), 5);
      }
    }
  });

  it('leaves out params the task does not train (a frozen head)', () => {
    const some = quadraticPenalty([{ inputs, weights: fisher, anchor }], 1, ['trunk.0.weight']);
    expect(Object.keys(some.tensors ?? {}).sort()).toEqual(['ewc.0.anchor.trunk.0.weight', 'ewc.0.weight.trunk.0.weight']);
  });

  it("names its inputs '<method>.weight.<p>' and '<method>.anchor.<p>' for a method's own namespace", () => {
    const si = quadraticPenalty([{ inputs: namespace('si').inputs, weights: fisher, anchor }], 1, ['trunk.0.bias']);
    expect(Object.keys(si.step?.constants ?? {})).toEqual(['si.weight.trunk.0.bias', 'si.anchor.trunk.0.bias']);
  });
});
