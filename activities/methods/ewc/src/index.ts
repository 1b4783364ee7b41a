import { definePlugin, type AfterTaskContext, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { TensorMap } from '@retain/engine';
import { ewcConfigSchema, onlineEwcConfigSchema, type EwcConfig, type OnlineEwcConfig } from './config';
import { fisherDiagonal } from './fisher';
import { prefixed, quadraticPenalty, withPrefix, type QuadraticAnchor } from './penalty';

export { ewcConfigSchema, onlineEwcConfigSchema, type EwcConfig, type OnlineEwcConfig } from './config';
export { fisherDiagonal, hasBatchedFisher, type FisherOptions } from './fisher';
export { quadraticPenalty, withPrefix, prefixed, type QuadraticAnchor } from './penalty';

/**
 * EWC's state holds, for every finished task j, its Fisher diagonal 'ewc.<j>.fisher.<param>'
 * and the params after it 'ewc.<j>.anchor.<param>'.
 */
function ewcAnchors(state: TensorMap | undefined, tasksDone: number): QuadraticAnchor[] {
  return Array.from({ length: tasksDone }, (_, j) => ({
    prefix: `ewc.${j}`,
    weights: withPrefix(state, `ewc.${j}.fisher.`),
    anchor: withPrefix(state, `ewc.${j}.anchor.`),
  }));
}

/** The task's Fisher diagonal at the params it ended with (any method whose config has `fisherSamples`). */
export function taskFisher(ctx: AfterTaskContext<{ fisherSamples: number }>): Promise<TensorMap> {
  return fisherDiagonal({
    model: ctx.model,
    head: ctx.head,
    params: ctx.params,
    samples: ctx.task.train,
    count: ctx.config.fisherSamples,
    seed: ctx.seed,
    taskIndex: ctx.taskIndex,
  });
}

const anchorOf = (params: TensorMap, names: string[]): TensorMap => Object.fromEntries(names.map((p) => [p, params[p]]));

/** Elastic weight consolidation: one penalty per earlier task, weighted by that task's Fisher. */
export const ewcMethod = definePlugin({
  kind: 'method',
  name: 'ewc',
  version: '0.1.0',
  description: "Elastic weight consolidation: a quadratic penalty weighted by each earlier task's Fisher diagonal.",
  configSchema: ewcConfigSchema,
  training: (ctx: MethodContext<EwcConfig>): MethodTraining =>
    quadraticPenalty(ewcAnchors(ctx.state, ctx.taskIndex), ctx.config.lambda / 2, ctx.model.paramsForHead(ctx.head)),
  afterTask: async (ctx: AfterTaskContext<EwcConfig>): Promise<TensorMap> => {
    const fisher = await taskFisher(ctx);
    const j = ctx.taskIndex;
    return {
      ...(ctx.state ?? {}),
      ...prefixed(fisher, `ewc.${j}.fisher.`),
      ...prefixed(anchorOf(ctx.params, Object.keys(fisher)), `ewc.${j}.anchor.`),
    };
  },
});

/** Online EWC: a single running Fisher (decayed by gamma each task) around the latest params. */
export const onlineEwcMethod = definePlugin({
  kind: 'method',
  name: 'online-ewc',
  version: '0.1.0',
  description: 'Online EWC: one running Fisher diagonal, decayed by gamma per task, and one anchor (the latest params).',
  configSchema: onlineEwcConfigSchema,
  training: (ctx: MethodContext<OnlineEwcConfig>): MethodTraining =>
    ctx.state
      ? quadraticPenalty(
          [{ prefix: 'online-ewc', weights: withPrefix(ctx.state, 'fisher.'), anchor: withPrefix(ctx.state, 'anchor.') }],
          ctx.config.lambda / 2,
          ctx.model.paramsForHead(ctx.head),
        )
      : {},
  afterTask: async (ctx: AfterTaskContext<OnlineEwcConfig>): Promise<TensorMap> => {
    const fresh = await taskFisher(ctx);
    const running = withPrefix(ctx.state, 'fisher.');
    const fisher: TensorMap = {};
    for (const p of new Set([...Object.keys(running), ...Object.keys(fresh)])) {
      const old = running[p];
      const now = fresh[p];
      const dims = [...(now ?? old).dims];
      const data = new Float32Array((now ?? old).data.length);
      for (let i = 0; i < data.length; i++) data[i] = ctx.config.gamma * (old ? old.data[i] : 0) + (now ? now.data[i] : 0);
      fisher[p] = { dims, data };
    }
    return { ...prefixed(fisher, 'fisher.'), ...prefixed(anchorOf(ctx.params, Object.keys(fisher)), 'anchor.') };
  },
});
