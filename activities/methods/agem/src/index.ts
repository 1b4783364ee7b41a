import { definePlugin, type AfterTaskContext, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { TensorMap } from '@retain/engine';
import { offerTask, readBuffer, requireSharedHead, sampleBuffer, writeBuffer } from '@retain/method-replay';
import { configSchema, type Config } from './config';
import { agemProjection, MEMORY_X, MEMORY_Y } from './projection';

export { configSchema, type Config } from './config';
export { agemProjection, MEMORY_X, MEMORY_Y } from './projection';

const PREFIX = 'agem.memory.';

/** A-GEM: each update is projected so that it does not increase the loss on a batch of memory. */
export const agemMethod = definePlugin({
  kind: 'method',
  name: 'agem',
  version: '0.1.0',
  description: 'Averaged GEM: projects each update so it does not increase the loss on a memory batch of past samples.',
  configSchema,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    requireSharedHead(ctx.model, 'agem');
    const inputDims = ctx.task.train.inputDims;
    const memory = readBuffer(
      ctx.state,
      PREFIX,
      inputDims.reduce((a, b) => a * b, 1),
    );
    if (!memory.size) return {};
    const m = Math.min(ctx.config.memoryBatch, memory.size);
    return {
      step: agemProjection(inputDims),
      batches: (step: number, current: Batch) => {
        const { x, y } = sampleBuffer(memory, m, ctx.seed, 'agem-reference', ctx.taskIndex, step);
        return {
          batch: current,
          feeds: {
            [MEMORY_X]: { dtype: 'float32', dims: [m, ...inputDims], data: x },
            [MEMORY_Y]: { dtype: 'int64', dims: [m], data: BigInt64Array.from(y, (v) => BigInt(v)) },
          },
        };
      },
    };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    const features = ctx.task.train.inputDims.reduce((a, b) => a * b, 1);
    return writeBuffer(offerTask(readBuffer(ctx.state, PREFIX, features), ctx.task, ctx.config.memorySize, 'reservoir', ctx.seed), PREFIX);
  },
});
