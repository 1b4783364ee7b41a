import { definePlugin, SpecError, type AfterTaskContext, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { TensorMap } from '@retain/engine';
import { configSchema, type Config } from './config';
import { offerTask, readBuffer, sampleBuffer, writeBuffer } from './buffer';

export { configSchema, type Config } from './config';
export * from './buffer';

const PREFIX = 'replay.';

/** Replay needs one label space for every task: a head per task would need each sample's head. */
export function requireSharedHead(model: { heads: number }, method: string): void {
  if (model.heads > 1)
    throw new SpecError(
      'method.name',
      `'${method}' replays samples of earlier tasks through one head; use a benchmark with a shared head (not task-IL)`,
    );
}

/** Experience replay: a buffer of past samples (an artifact) mixed into every batch. */
export const replayMethod = definePlugin({
  kind: 'method',
  name: 'replay',
  version: '0.1.0',
  description: 'Experience replay: a reservoir or class-balanced buffer of past samples mixed into every batch.',
  configSchema,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    requireSharedHead(ctx.model, 'replay');
    const features = ctx.task.train.inputDims.reduce((a, b) => a * b, 1);
    const buffer = readBuffer(ctx.state, PREFIX, features);
    if (!buffer.size || ctx.config.share === 0) return {};
    return {
      // B new samples plus round(B * share / (1 - share)) replayed ones: `share` of the batch is replayed.
      batches: (step: number, current: Batch) => {
        const m = Math.max(1, Math.round((current.size * ctx.config.share) / (1 - ctx.config.share)));
        const memory = sampleBuffer(buffer, m, ctx.seed, 'replay-batch', ctx.taskIndex, step);
        const x = new Float32Array((current.size + m) * features);
        x.set(current.x.subarray(0, current.size * features));
        x.set(memory.x, current.size * features);
        const y = new Int32Array(current.size + m);
        y.set(current.y.subarray(0, current.size));
        y.set(memory.y, current.size);
        return { batch: { x, y, size: current.size + m } };
      },
    };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    const features = ctx.task.train.inputDims.reduce((a, b) => a * b, 1);
    const buffer = offerTask(readBuffer(ctx.state, PREFIX, features), ctx.task, ctx.config.bufferSize, ctx.config.policy, ctx.seed);
    return writeBuffer(buffer, PREFIX);
  },
});
