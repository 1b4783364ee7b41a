import type { TensorMap } from '@retain/engine';
import { fisherDiagonal } from '@retain/methods-kit';
import type { QuantizeContext } from '@retain/sdk';
import type { MixedPrecisionConfig } from './config';

/** Where the importance came from, for the error messages and the README's table. */
export type ImportanceSource = 'fisher' | 'proxy';

/**
 * The importance of every parameter, by name: the method's Fisher (EWC's, summed over its tasks;
 * online EWC's running one) under 'fisher' and under 'auto' when the method keeps one; otherwise
 * the proxy, the diagonal empirical Fisher (mean squared per-sample gradient of the loss, at the
 * params just learned) over `proxySamples` samples of every task seen so far, summed over tasks
 * like EWC's. Without the worker's `taskData` (a direct call) the proxy sees the calibration set only.
 */
export async function importanceOf(ctx: QuantizeContext<MixedPrecisionConfig>): Promise<{ source: ImportanceSource; tensors: TensorMap }> {
  const wanted = ctx.config.importance;
  if (wanted !== 'proxy') {
    const fisher = await ctx.methodFisher?.();
    if (fisher) return { source: 'fisher', tensors: fisher };
    if (wanted === 'fisher')
      throw new Error(
        "importance: 'fisher' needs a method whose state keeps a Fisher diagonal (ewc, online-ewc) and this run's keeps none; use importance 'proxy' or 'auto'",
      );
  }
  const tasks =
    ctx.taskData && ctx.taskIndex !== undefined
      ? Array.from({ length: ctx.taskIndex + 1 }, (_, j) => ({ ...ctx.taskData!(j), taskIndex: j }))
      : [{ train: ctx.calibration, head: ctx.head, taskIndex: ctx.taskIndex ?? 0 }];
  const sum: TensorMap = {};
  for (const task of tasks) {
    const fisher = await fisherDiagonal({
      model: ctx.model,
      head: task.head,
      params: ctx.params,
      samples: task.train,
      count: ctx.config.proxySamples,
      seed: ctx.seed,
      taskIndex: task.taskIndex,
    });
    for (const [name, t] of Object.entries(fisher)) {
      const into = (sum[name] ??= { dims: [...t.dims], data: new Float32Array(t.data.length) });
      for (let i = 0; i < t.data.length; i++) into.data[i] += t.data[i];
    }
  }
  return { source: 'proxy', tensors: sum };
}
