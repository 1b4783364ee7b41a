import type { Batch, MethodTraining } from '@retain/sdk';
import { stackValues, type Value, numel } from '@retain/engine';
import { batchOrder, gatherLabels, targetsOf, type SampleSet } from '@retain/data';
import { methodBatch } from './method-hooks';

/**
 * The batch of every step of a task, as a pure function of (seed, task, step): the trainer's
 * batch in the seeded order of the step's epoch, then the method's choice (replay mixing). So any
 * step can be loaded in any order, and a resumed task or a K-step run sees the same batches.
 */
export class StepBatches {
  readonly stepsPerEpoch: number;
  readonly features: number;
  /** Labels per sample (a causal LM's T tokens have T); a batch of b samples has b * targets labels. */
  readonly targets: number;
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
    this.features = numel(data.inputDims);
    this.targets = targetsOf(data);
    this.x = new Float32Array(batchSize * this.features);
    this.y = new Int32Array(batchSize * this.targets);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.stepsPerEpoch);
  }

  /** The trainer's batch size at `step` (an epoch's last batch may be short), without loading it. */
  sizeAt(step: number): number {
    const offset = (step % this.stepsPerEpoch) * this.batchSize;
    return Math.min(this.batchSize, this.data.n - offset);
  }

  /** The task's own samples that steps 0..steps-1 read (every epoch's batches, its last one short), before the method adds any. */
  samplesBefore(steps: number): number {
    const epochs = Math.floor(steps / this.stepsPerEpoch);
    // Within an epoch only the last batch is short, and the remainder stops before it.
    return epochs * this.data.n + (steps % this.stepsPerEpoch) * this.batchSize;
  }

  /** The batch of `step` and the method's feeds; the arrays may be reused by the next call. */
  at(step: number): { batch: Batch; feeds: Record<string, Value> } {
    const epoch = this.epochOf(step);
    if (this.order.epoch !== epoch) this.order = { epoch, indices: batchOrder(this.data.n, this.seed, this.taskIndex, epoch) };
    const offset = (step % this.stepsPerEpoch) * this.batchSize;
    const indices = this.order.indices.subarray(offset, offset + this.sizeAt(step));
    const b = indices.length;
    this.data.gather(indices, this.x);
    const t = this.targets;
    gatherLabels(this.data, indices, this.y);
    const { batch, feeds } = methodBatch(
      this.method,
      step,
      {
        x: this.x.subarray(0, b * this.features),
        y: this.y.subarray(0, b * t),
        size: b,
        indices,
      },
      t,
    );
    return {
      batch: { x: batch.x.subarray(0, batch.size * this.features), y: batch.y.subarray(0, batch.size * t), size: batch.size },
      feeds,
    };
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
 * Plans the runs of a task: K steps stacked when `fits(step)` allows them (no checkpoint boundary
 * inside, not past the task's end) and their K batches share one size and the same feeds' shapes,
 * which a K-step graph needs; else the single step.
 */
export class RunPlanner {
  /** Steps before this one cannot start a K-step run: a batch at or after it differs in size. */
  private singleUntil = 0;

  constructor(
    private readonly batches: StepBatches,
    private readonly K: number,
    private readonly fits: (step: number) => boolean,
  ) {}

  next(step: number): Run {
    const { batches, K } = this;
    if (K > 1 && step >= this.singleUntil && this.fits(step)) {
      const size = batches.sizeAt(step);
      const differs = Array.from({ length: K - 1 }, (_, k) => step + k + 1).find((s) => batches.sizeAt(s) !== size);
      if (differs === undefined) return this.stacked(step);
      this.singleUntil = differs;
    }
    const { batch, feeds } = batches.at(step);
    return { first: step, count: 1, size: batch.size, x: batch.x, y: batch.y, feeds };
  }

  /**
   * K batches stacked; or, when the method made one differ from the first in size or feeds, the
   * first step alone (every run starting before the differing step would contain it).
   */
  private stacked(step: number): Run {
    const { batches, K } = this;
    const { features, targets } = batches;
    let x = new Float32Array(0);
    let y = new Int32Array(0);
    let size = 0;
    const feeds: Record<string, Value>[] = [];
    const single = (): Run => ({
      first: step,
      count: 1,
      size,
      x: x.subarray(0, size * features),
      y: y.subarray(0, size * targets),
      feeds: feeds[0],
    });
    for (let k = 0; k < K; k++) {
      const { batch, feeds: f } = batches.at(step + k);
      if (k === 0) {
        size = batch.size;
        x = new Float32Array(K * size * features);
        y = new Int32Array(K * size * targets);
      } else if (batch.size !== size || !sameShapes(f, feeds[0])) {
        this.singleUntil = step + k;
        return single();
      }
      x.set(batch.x, k * size * features);
      y.set(batch.y, k * size * targets);
      // The method may hand out views of its own buffers, which the next step's batch overwrites.
      feeds.push(Object.fromEntries(Object.entries(f).map(([name, v]) => [name, { ...v, data: v.data.slice() }])));
    }
    const names = Object.keys(feeds[0]);
    return {
      first: step,
      count: K,
      size,
      x,
      y,
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
}

function sameShapes(a: Record<string, Value>, b: Record<string, Value>): boolean {
  const names = Object.keys(b);
  return (
    Object.keys(a).length === names.length && names.every((n) => a[n] && a[n].dtype === b[n].dtype && a[n].dims.join() === b[n].dims.join())
  );
}
