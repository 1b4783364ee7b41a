import { definePlugin, SpecError, type AfterTaskContext, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import { numel, type TensorMap } from '@retain/engine';
import { targetsOf } from '@retain/data';
import {
  classesPerTaskOf,
  namespace,
  offerTask,
  paramsOfHeads,
  perHeadSamples,
  drawMemory,
  readBuffer,
  writeBuffer,
} from '@retain/methods-kit';
import { configSchema, samplingOf, type Config } from './config';

export { configSchema, type Config } from './config';

/** The buffer is the state ('replay.x', …); task-IL's replayed samples are inputs 'replay.mem.…'. */
const replay = namespace('replay');

/** Experience replay: a buffer of past samples (an artifact) mixed into every batch. */
export const replayMethod = definePlugin({
  kind: 'method',
  name: 'replay',
  version: '0.1.0',
  description: 'Experience replay: a reservoir or class-balanced buffer of past samples mixed into every batch.',
  configSchema,
  // A sequence (a causal LM's sample, T labels) has no class to balance over.
  checkSpec: (config: Config, ctx) =>
    config.policy === 'class-balanced' && (ctx.scenario?.targetsPerSample ?? 1) > 1
      ? [
          new SpecError(
            `${ctx.path}.config.policy`,
            `class-balanced needs one class per sample, but benchmark ${ctx.spec.benchmark.name}'s samples are sequences of ${ctx.scenario?.targetsPerSample} labels; use 'reservoir'`,
          ),
        ]
      : [],
  // The buffer: inputs and the labels of each sample.
  stateFloats: (config: Config, { inputSize, targetsPerSample }) => config.bufferSize * (inputSize + targetsPerSample),
  training: (ctx: MethodContext<Config>): MethodTraining => {
    const features = numel(ctx.task.train.inputDims);
    const targets = targetsOf(ctx.task.train);
    const buffer = readBuffer(ctx.state, replay.state, features, targets);
    if (!buffer.size || ctx.config.share === 0) return {};
    const sampling = samplingOf(ctx.config);
    const replayed = (size: number) => Math.max(1, Math.round((size * ctx.config.share) / (1 - ctx.config.share)));
    if (ctx.model.heads > 1) {
      // A head per task: the replayed samples go through their own task's head (earlier heads
      // train too), weighted so the loss is the mean over the B new and m replayed samples, as
      // with one shared head.
      const heads = Array.from({ length: ctx.taskIndex }, (_, j) => j);
      const samples = perHeadSamples(replay.inputs.sub('mem'), ctx.model, heads);
      return {
        step: { batchInputs: samples.batchInputs, lossTerm: samples.lossTerm },
        trainable: paramsOfHeads(ctx.model, [...heads, ctx.head]),
        batches: (step: number, current: Batch) => {
          const m = replayed(current.size);
          const memory = drawMemory(sampling, buffer, m, ctx.seed, 'replay-batch', ctx.taskIndex, step);
          const total = current.size + m;
          return { batch: current, feeds: samples.feeds(memory, 1 / total, current.size / total) };
        },
      };
    }
    return {
      // B new samples plus round(B * share / (1 - share)) replayed ones: `share` of the batch is replayed.
      batches: (step: number, current: Batch) => {
        const m = replayed(current.size);
        const memory = drawMemory(sampling, buffer, m, ctx.seed, 'replay-batch', ctx.taskIndex, step);
        const x = new Float32Array((current.size + m) * features);
        x.set(current.x.subarray(0, current.size * features));
        x.set(memory.x, current.size * features);
        const y = new Int32Array((current.size + m) * targets);
        y.set(current.y.subarray(0, current.size * targets));
        y.set(memory.y, current.size * targets);
        return { batch: { x, y, size: current.size + m } };
      },
    };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    const features = numel(ctx.task.train.inputDims);
    const buffer = offerTask(
      readBuffer(ctx.state, replay.state, features, targetsOf(ctx.task.train)),
      ctx.task,
      ctx.config.bufferSize,
      ctx.config.policy,
      ctx.seed,
      classesPerTaskOf(ctx.model),
    );
    return writeBuffer(buffer, replay.state);
  },
});
