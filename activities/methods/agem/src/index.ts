import { definePlugin, type AfterTaskContext, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import { numel, type TensorMap } from '@retain/engine';
import { classesPerTaskOf, drawMemory, offerTask, paramsOfHeads, perHeadSamples, readBuffer, writeBuffer } from '@retain/methods-kit';
import { configSchema, type Config } from './config';
import { agem } from './names';
import { agemProjection, MEMORY_X, MEMORY_Y, projectOnto } from './projection';

export { configSchema, type Config } from './config';
export { agemProjection, MEMORY_X, MEMORY_Y } from './projection';

/** The episodic memory, a reservoir buffer in the state ('agem.memory.x', …). */
const memoryState = agem.state.sub('memory');

/** A-GEM: each update is projected so that it does not increase the loss on a batch of memory. */
export const agemMethod = definePlugin({
  kind: 'method',
  name: 'agem',
  version: '0.1.0',
  description: 'Averaged GEM: projects each update so it does not increase the loss on a memory batch of past samples.',
  configSchema,
  // The episodic memory (inputs and the labels of each sample) and the reference gradient.
  stateFloats: (config: Config, { params, inputSize, targetsPerSample }) => config.memorySize * (inputSize + targetsPerSample) + params,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    const inputDims = ctx.task.train.inputDims;
    // Labels per sample: the model's rows per example (startRun checks they match the data's).
    const targets = ctx.model.targetsPerExample ?? 1;
    const memory = readBuffer(ctx.state, memoryState, numel(inputDims), targets);
    if (!memory.size) return {};
    const m = Math.min(ctx.config.memoryBatch, memory.size);
    const { sampling } = ctx.config;
    if (ctx.model.heads > 1) {
      // A head per task: the reference gradient is that of the memory loss with each sample
      // through its own task's head; every head seen so far is projected with the rest (as in
      // Chaudhry et al.'s multi-head A-GEM), the current batch's loss unchanged.
      const heads = Array.from({ length: ctx.taskIndex }, (_, j) => j);
      const samples = perHeadSamples(agem.inputs.sub('mem'), ctx.model, heads);
      return {
        step: {
          batchInputs: samples.batchInputs,
          gradientTransform: (terms) => projectOnto(terms.grads, samples.samplesGradients(terms), terms.trainable),
        },
        trainable: paramsOfHeads(ctx.model, [...heads, ctx.head]),
        batches: (step: number, current: Batch) => ({
          batch: current,
          // Weight 1/m: the reference is the gradient of the memory batch's mean loss.
          feeds: samples.feeds(drawMemory(sampling, memory, m, ctx.seed, 'agem-reference', ctx.taskIndex, step), 1 / m, 1),
        }),
      };
    }
    return {
      step: agemProjection(inputDims, targets),
      batches: (step: number, current: Batch) => {
        const { x, y } = drawMemory(sampling, memory, m, ctx.seed, 'agem-reference', ctx.taskIndex, step);
        return {
          batch: current,
          feeds: {
            [MEMORY_X]: { dtype: 'float32', dims: [m, ...inputDims], data: x },
            [MEMORY_Y]: { dtype: 'int64', dims: [m * targets], data: BigInt64Array.from(y, (v) => BigInt(v)) },
          },
        };
      },
    };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    const features = numel(ctx.task.train.inputDims);
    const memory = offerTask(
      readBuffer(ctx.state, memoryState, features, ctx.model.targetsPerExample ?? 1),
      ctx.task,
      ctx.config.memorySize,
      'reservoir',
      ctx.seed,
      classesPerTaskOf(ctx.model),
    );
    return writeBuffer(memory, memoryState);
  },
});
