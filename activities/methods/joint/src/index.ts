import { definePlugin, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import { deriveSeed, numel, Rng } from '@retain/engine';
import { gatherLabels, targetsOf } from '@retain/data';
import { namespace, paramsOfHeads, perHeadSamples, taskUnion } from '@retain/methods-kit';
import { configSchema, type Config } from './config';

export { configSchema, type Config } from './config';

/** No state; task-IL's drawn samples are step inputs 'joint.x', 'joint.target.<h>', …. */
const joint = namespace('joint');

/**
 * Joint training: on task t every batch is drawn uniformly from the training samples of tasks
 * 0..t together (seeded by (seed, task, step)), so nothing is ever out of reach. It keeps the
 * trainer's step count, so on long sequences the last tasks end undertrained; with `epochsOver:
 * union` the trainer's epochs run over tasks 0..t instead (the upper bound; unionTraining). With
 * a head per task (task-IL) each sample's loss goes through its own task's head, and every head
 * seen so far trains.
 */
export const jointMethod = definePlugin({
  kind: 'method',
  name: 'joint',
  version: '0.1.0',
  description: 'Joint training on every task seen so far at once: the upper bound methods are compared with.',
  configSchema,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    if (ctx.taskIndex === 0) return {};
    if (ctx.config.epochsOver === 'union') return unionTraining(ctx);
    const tasks = Array.from({ length: ctx.taskIndex + 1 }, (_, j) => ctx.taskData(j).train);
    const offsets = tasks.map((_, j) => tasks.slice(0, j).reduce((s, t) => s + t.n, 0));
    const total = offsets[offsets.length - 1] + tasks[tasks.length - 1].n;
    const features = numel(ctx.task.train.inputDims);
    const targets = targetsOf(ctx.task.train);
    /** `size` samples drawn uniformly from every task so far, with the task each came from. */
    const draw = (step: number, size: number) => {
      const rng = new Rng(deriveSeed(ctx.seed, 'joint-batch', ctx.taskIndex, step));
      const x = new Float32Array(size * features);
      const y = new Int32Array(size * targets);
      const head = new Int32Array(size);
      for (let k = 0; k < size; k++) {
        const r = rng.int(total);
        let j = tasks.length - 1;
        while (offsets[j] > r) j--;
        const i = r - offsets[j];
        tasks[j].gather([i], x.subarray(k * features, (k + 1) * features));
        gatherLabels(tasks[j], [i], y.subarray(k * targets, (k + 1) * targets));
        head[k] = j;
      }
      return { x, y, head, size };
    };
    if (ctx.model.heads > 1) {
      // The trainer's batch is weighed 0 (its loss cancelled); the drawn one goes through per-sample heads.
      const heads = tasks.map((_, j) => j);
      const samples = perHeadSamples(joint.inputs, ctx.model, heads);
      return {
        step: { batchInputs: samples.batchInputs, lossTerm: samples.lossTerm },
        trainable: paramsOfHeads(ctx.model, heads),
        batches: (step: number, current: Batch) => ({
          batch: current,
          feeds: samples.feeds(draw(step, current.size), 1 / current.size, 0),
        }),
      };
    }
    return {
      batches: (step: number, current: Batch) => {
        const { x, y, size } = draw(step, current.size);
        return { batch: { x, y, size } };
      },
    };
  },
});

/**
 * `epochsOver: union`: the union of tasks 0..t is the set the trainer's epochs run over, in the
 * trainer's own seeded order, so task t trains (t+1) times the steps of one task (with equal
 * task sizes) and every sample is seen once per epoch. With a head per task, the trainer's batch
 * (weighed 0) is sent again through each sample's own task's head, found from its union index.
 */
function unionTraining(ctx: MethodContext<Config>): MethodTraining {
  const union = taskUnion(Array.from({ length: ctx.taskIndex + 1 }, (_, j) => ctx.taskData(j).train));
  if (ctx.model.heads === 1) return { trainingSet: union.set };
  const heads = Array.from({ length: ctx.taskIndex + 1 }, (_, j) => j);
  const samples = perHeadSamples(joint.inputs, ctx.model, heads);
  return {
    trainingSet: union.set,
    step: { batchInputs: samples.batchInputs, lossTerm: samples.lossTerm },
    trainable: paramsOfHeads(ctx.model, heads),
    batches: (_step: number, current: Batch) => {
      if (!current.indices)
        throw new Error("joint (epochsOver: union): the trainer's batch has no indices; the trainer must set Batch.indices");
      const head = Int32Array.from(current.indices, (r) => union.taskOf(r));
      return { batch: current, feeds: samples.feeds({ x: current.x, y: current.y, head, size: current.size }, 1 / current.size, 0) };
    },
  };
}
