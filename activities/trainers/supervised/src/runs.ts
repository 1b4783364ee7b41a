import type { Batch, MethodTraining } from '@retain/sdk';
import { stackValues, type Value } from '@retain/engine';
import { batchOrder, type SampleSet } from '@retain/data';
import { methodBatch } from './method-hooks';

/**
 * The batch of every step of a task, as a pure function of (seed, task, step): the trainer's
 * batch in the seeded order of the step's epoch, then the method's choice (replay mixing). So any
 * step can be loaded in any order, and a resumed task or a K-step run sees the same batches.
 */
export class StepBatches {
  readonly stepsPerEpoch: number;
  readonly features: number;
  private order: { epoch: number; indices: Int32Array } = { epoch: -1, indices: new Int32Array(0) };
  private readonly x: Float32Array;
  private readonly y: Int32Array;

  constructor(
    private readonly data: SampleSet,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly taskIndex: number,
    private readonly method: MethodTraining,
  ) {
    this.stepsPerEpoch = Math.ceil(data.n / batchSize);
    this.features = data.inputDims.reduce((a, b) => a * b, 1);
    this.x = new Float32Array(batchSize * this.features);
    this.y = new Int32Array(batchSize);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** The trainer's batch size at `step` (an epoch's last batch may be short), without loading it. */
  sizeAt(step: number): number {
    const offset = (step % this.stepsPerEpoch) * this.batchSize;
    return Math.min(this.batchSize, this.data.n - offset);
  }

  /** The batch of `step` and the method's feeds; the arrays may be reused by the next call. */
  at(step: number): { batch: Batch; feeds: Record<string, Value> } {
    const epoch = this.epochOf(step);
    if (this.order.epoch !== epoch) this.order = { epoch, indices: batchOrder(this.data.n, this.seed, this.taskIndex, epoch) };
    const offset = (step % this.stepsPerEpoch) * this.batchSize;
    const indices = this.order.indices.subarray(offset, offset + this.sizeAt(step));
    const b = indices.length;
    this.data.gather(indices, this.x);
    for (let i = 0; i < b; i++) this.y[i] = this.data.labels[indices[i]];
    const { batch, feeds } = methodBatch(this.method, step, {
      x: this.x.subarray(0, b * this.features),
      y: this.y.subarray(0, b),
      size: b,
    });
    return { batch: { x: batch.x.subarray(0, batch.size * this.features), y: batch.y.subarray(0, batch.size), size: batch.size }, feeds };
  }
}

/** Consecutive steps trained by one graph run: `count` batches of `size` samples, stacked. */
export interface Run {
  first: number;
  count: number;
  size: number;
  x: Float32Array;
  y: Int32Array;
  /** The method's per-step feeds (stacked [count, ...] when count > 1). */
  feeds: Record<string, Value>;
}

/**
 * The run starting at `step`: K steps stacked when `fits(step)` allows them (no checkpoint
 * boundary inside, not past the task's end) and their K batches share one size and the same
 * feeds' shapes, which a K-step graph needs; else the single step.
 */
export function nextRun(batches: StepBatches, step: number, K: number, fits: (step: number) => boolean): Run {
  if (K > 1 && fits(step)) {
    const size = batches.sizeAt(step);
    const sameTrainerSize = Array.from({ length: K - 1 }, (_, k) => batches.sizeAt(step + k + 1)).every((s) => s === size);
    if (sameTrainerSize) {
      const run = stacked(batches, step, K);
      if (run) return run;
    }
  }
  const { batch, feeds } = batches.at(step);
  return { first: step, count: 1, size: batch.size, x: batch.x, y: batch.y, feeds };
}

/** K batches stacked, or undefined when the method made them differ in size or feeds. */
function stacked(batches: StepBatches, step: number, K: number): Run | undefined {
  let x: Float32Array | undefined;
  let y: Int32Array | undefined;
  let size = 0;
  const feeds: Record<string, Value>[] = [];
  for (let k = 0; k < K; k++) {
    const { batch, feeds: f } = batches.at(step + k);
    if (k === 0) {
      size = batch.size;
      x = new Float32Array(K * size * batches.features);
      y = new Int32Array(K * size);
    } else if (batch.size !== size || Object.keys(f).join() !== Object.keys(feeds[0]).join()) return undefined;
    x!.set(batch.x, k * size * batches.features);
    y!.set(batch.y, k * size);
    // The method may hand out views of its own buffers, which the next step's batch overwrites.
    feeds.push(Object.fromEntries(Object.entries(f).map(([name, v]) => [name, { ...v, data: v.data.slice() }])));
  }
  const names = Object.keys(feeds[0]);
  for (const name of names) {
    const dims = feeds[0][name].dims.join();
    if (feeds.some((f) => f[name].dims.join() !== dims)) return undefined;
  }
  return {
    first: step,
    count: K,
    size,
    x: x!,
    y: y!,
    feeds: Object.fromEntries(
      names.map((name) => [
        name,
        stackValues(
          name,
          feeds.map((f) => f[name]),
        ),
      ]),
    ),
  };
}
