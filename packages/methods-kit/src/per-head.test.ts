import { initParams, mlp } from '@retain/engine';
import type { MethodTraining } from '@retain/sdk';
import { namespace, Namespace, paramsOfHeads, perHeadSamples } from './index';
import { stepThroughHead } from './testing';

/** Task-IL: two heads of 3 classes on 3 features. */
const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 2 });
const params = initParams(model, 11);
const current = { x: Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1]), y: Int32Array.from([0, 2, 1]), size: 3 };

/** One plain SGD step (lr 1) through head 1 with `training`. */
const stepWith = (training: MethodTraining) => stepThroughHead(model, params, 1, training, current);

describe('per-head samples', () => {
  it("gives a plain step's loss and update when the samples are the trainer's batch through its head", async () => {
    const plain = await stepWith({ batches: (_: number, b) => ({ batch: b }) });
    const samples = perHeadSamples(new Namespace(['t']), model, [1]);
    const routed = await stepWith({
      step: { batchInputs: samples.batchInputs, lossTerm: samples.lossTerm },
      // Weight 1/B per sample, the trainer's own batch cancelled (joint's use).
      batches: (_: number, b) => ({ batch: b, feeds: samples.feeds({ ...b, head: new Int32Array(b.size).fill(1) }, 1 / b.size, 0) }),
    });
    expect(routed.loss).toBeCloseTo(plain.loss, 5);
    for (const p of model.paramsForHead(1)) routed.after[p].data.forEach((v, i) => expect(v).toBeCloseTo(plain.after[p].data[i], 5));
  });

  it('names its inputs in the namespace it is given and feeds exactly those', () => {
    const samples = perHeadSamples(namespace('replay').inputs.sub('mem'), model, [0, 1]);
    const names = ['replay.mem.x', 'replay.mem.current-scale', 'replay.mem.target.0', 'replay.mem.target.1'];
    expect(Object.keys(samples.batchInputs)).toEqual(names);
    const feeds = samples.feeds({ ...current, head: Int32Array.from([0, 1, 1]) }, 1 / 3, 1);
    expect(Object.keys(feeds)).toEqual(names);
  });

  it('lists the params of several heads once each, the trunk included', () => {
    const both = paramsOfHeads(model, [0, 1]);
    expect(new Set(both).size).toBe(both.length);
    expect(both).toEqual(expect.arrayContaining([...model.paramsForHead(0), ...model.paramsForHead(1)]));
  });
});
