import type { TensorMap } from '@retain/engine';
import type { AfterTaskContext } from '@retain/sdk';
import { fisherDiagonal } from './fisher';

/**
 * The task's Fisher diagonal at the params it ended with (any method whose config has
 * `fisherSamples`: a count of samples, or 'all' for every training sample of the task).
 */
export function taskFisher(ctx: AfterTaskContext<{ fisherSamples: number | 'all' }>): Promise<TensorMap> {
  return fisherDiagonal({
    model: ctx.model,
    head: ctx.head,
    params: ctx.params,
    samples: ctx.task.train,
    count: ctx.config.fisherSamples === 'all' ? ctx.task.train.n : ctx.config.fisherSamples,
    seed: ctx.seed,
    taskIndex: ctx.taskIndex,
  });
}
