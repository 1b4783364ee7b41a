import { definePlugin, SpecError, type Batch, type MethodContext, type MethodTraining } from '@retain/sdk';
import { deriveSeed, Rng } from '@retain/engine';
import { configSchema, type Config } from './config';

export { configSchema, type Config } from './config';

/**
 * Joint training, the upper bound: on task t every batch is drawn uniformly from the training
 * samples of tasks 0..t together (seeded by (seed, task, step)), so nothing is ever out of
 * reach. It keeps the trainer's step count; with one shared head only (a sample of another task
 * would need that task's head).
 */
export const jointMethod = definePlugin({
  kind: 'method',
  name: 'joint',
  version: '0.1.0',
  description: 'Joint training on every task seen so far at once: the upper bound methods are compared with.',
  configSchema,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    if (ctx.model.heads > 1)
      throw new SpecError(
        'method.name',
        `'joint' mixes the samples of all tasks through one head; use a benchmark with a shared head (not task-IL)`,
      );
    if (ctx.taskIndex === 0) return {};
    const tasks = Array.from({ length: ctx.taskIndex + 1 }, (_, j) => ctx.taskData(j).train);
    const offsets = tasks.map((_, j) => tasks.slice(0, j).reduce((s, t) => s + t.n, 0));
    const total = offsets[offsets.length - 1] + tasks[tasks.length - 1].n;
    const features = ctx.task.train.inputDims.reduce((a, b) => a * b, 1);
    return {
      batches: (step: number, current: Batch) => {
        const rng = new Rng(deriveSeed(ctx.seed, 'joint-batch', ctx.taskIndex, step));
        const x = new Float32Array(current.size * features);
        const y = new Int32Array(current.size);
        for (let k = 0; k < current.size; k++) {
          const r = rng.int(total);
          let j = tasks.length - 1;
          while (offsets[j] > r) j--;
          const i = r - offsets[j];
          tasks[j].gather([i], x.subarray(k * features, (k + 1) * features));
          y[k] = tasks[j].labels[i];
        }
        return { batch: { x, y, size: current.size } };
      },
    };
  },
});
