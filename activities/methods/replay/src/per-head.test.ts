import { buildInferenceModel, InferenceSession, initParams, mlp, type TensorMap } from '@retain/engine';
import type { MethodContext, MethodTraining } from '@retain/sdk';
import { namespace, writeBuffer, type ReplayBuffer } from '@retain/methods-kit';
import { stepThroughHead } from '@retain/methods-kit/testing';
import { replayMethod, type Config } from './index';

const replayState = namespace('replay').state;

/** Task-IL: two heads of 3 classes on 3 features; task 1 trains head 1 and replays task 0's samples. */
const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 2 });
const params = initParams(model, 11);

const current = { x: Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1]), y: Int32Array.from([0, 2, 1]), size: 3 };
/** The buffer: 4 samples of task 0 (its own labels 0..2). */
const buffer: ReplayBuffer = {
  x: Float32Array.from([0.3, 0.3, -0.7, 1.5, -0.2, 0.4, -1, -1, 0.5, 0.2, 0.9, -0.1]),
  y: Int32Array.from([2, 0, 1, 2]),
  targets: 1,
  task: Int32Array.from([0, 0, 0, 0]),
  size: 4,
  features: 3,
  seenPerClass: [1, 1, 2],
  seen: 4,
};

/** Sum over samples of the cross-entropy through head `head`, from the inference graph's logits. */
async function summedCrossEntropy(head: number, x: Float32Array, y: Int32Array): Promise<number> {
  const session = await InferenceSession.create(buildInferenceModel(model, head, params));
  try {
    const { logits } = await session.run(x, y.length);
    let total = 0;
    for (let n = 0; n < y.length; n++) {
      const row = Array.from(logits.subarray(n * 3, n * 3 + 3));
      const max = Math.max(...row);
      total += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[y[n]];
    }
    return total;
  } finally {
    await session.close();
  }
}

/** One plain SGD step (lr 1) of task 1 (head 1) with `training`. */
const stepWith = (training: MethodTraining) => stepThroughHead(model, params, 1, training, current);

const ctx = (config: object, state: TensorMap): MethodContext<Config> =>
  ({
    config: replayMethod.configSchema.parse(config),
    seed: 3,
    taskIndex: 1,
    task: { train: { inputDims: [3] } },
    model,
    head: 1,
    taskData: () => undefined,
    state,
  }) as unknown as MethodContext<Config>;

describe('replay in task-IL (a head per task)', () => {
  it("puts each replayed sample's loss through its own task's head: the mean over new and replayed samples", async () => {
    // share 0.5: as many replayed as new, drawn with replacement from the buffer (seeded).
    const training = await replayMethod.training!(ctx({ share: 0.5 }, writeBuffer(buffer, replayState)));
    const feeds = training.batches!(0, current).feeds!;
    const memX = feeds['replay.mem.x'].data as Float32Array;
    const target = feeds['replay.mem.target.0'].data as Float32Array;
    const m = memX.length / 3;
    expect(m).toBe(3);
    const memY = Int32Array.from({ length: m }, (_, n) => target.subarray(n * 3, n * 3 + 3).findIndex((v) => v > 0));
    const expected = ((await summedCrossEntropy(1, current.x, current.y)) + (await summedCrossEntropy(0, memX, memY))) / (3 + m);
    // Through the wrong head (head 1 for the replayed samples) the value differs: the routing is what is tested.
    const wrongHead = ((await summedCrossEntropy(1, current.x, current.y)) + (await summedCrossEntropy(1, memX, memY))) / (3 + m);
    expect(Math.abs(expected - wrongHead)).toBeGreaterThan(1e-3);
    const { loss, after } = await stepWith(training);
    expect(loss).toBeCloseTo(expected, 5);
    // Old heads train on their replayed samples; the trunk and the current head as always.
    expect(training.trainable).toEqual(expect.arrayContaining([...model.paramsForHead(0), ...model.paramsForHead(1)]));
    for (const p of model.paramsForHead(0)) expect(after[p].data).not.toEqual(params[p].data);
  });

  it('weighs the batch and the replayed samples as one mixed batch would', async () => {
    // Weight 1/(B+m) per replayed sample and B/(B+m) on the batch mean.
    const training = await replayMethod.training!(ctx({ share: 0.25 }, writeBuffer(buffer, replayState)));
    const feeds = training.batches!(0, current).feeds!;
    expect(feeds['replay.mem.current-scale'].data[0]).toBeCloseTo(3 / 4 - 1, 6); // round(3 * 0.25 / 0.75) = 1 replayed
    const target = feeds['replay.mem.target.0'].data as Float32Array;
    expect(target.reduce((s, v) => s + v, 0)).toBeCloseTo(1 / 4, 6);
  });
});
