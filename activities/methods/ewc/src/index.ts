import { definePlugin, type AfterTaskContext, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { TensorMap } from '@retain/engine';
import { namespace, quadraticPenalty, taskFisher, type CurvatureGuard, type QuadraticAnchor } from '@retain/methods-kit';
import { ewcConfigSchema, onlineEwcConfigSchema, type EwcConfig, type OnlineEwcConfig } from './config';

export { ewcConfigSchema, onlineEwcConfigSchema, type EwcConfig, type OnlineEwcConfig } from './config';

/**
 * EWC's state holds, for every finished task j, its Fisher diagonal 'ewc.<j>.fisher.<param>'
 * and the params after it 'ewc.<j>.anchor.<param>'; task j's penalty inputs are 'ewc.<j>.…'.
 */
const ewc = namespace('ewc');
/** Online EWC's state: the running Fisher 'fisher.<param>' and the anchor 'anchor.<param>'; inputs 'online-ewc.…'. */
const onlineEwc = namespace('online-ewc', { state: 'unprefixed' });
const runningFisher = onlineEwc.state.sub('fisher');
const onlineAnchor = onlineEwc.state.sub('anchor');

function ewcAnchors(state: TensorMap | undefined, tasksDone: number): QuadraticAnchor[] {
  return Array.from({ length: tasksDone }, (_, j) => ({
    inputs: ewc.inputs.sub(j),
    weights: ewc.state.sub(j, 'fisher').read(state),
    anchor: ewc.state.sub(j, 'anchor').read(state),
  }));
}

/** The penalty's stability check against the trainer's step (methods-kit's guardCurvature). */
function guardOf(plugin: string, ctx: MethodContext<EwcConfig>): CurvatureGuard {
  const { lambda, curvatureClip } = ctx.config;
  return {
    plugin,
    strengthField: 'lambda',
    strength: lambda,
    weightName: 'F',
    trainer: ctx.trainer,
    clip: curvatureClip,
    taskIndex: ctx.taskIndex,
  };
}

const anchorOf = (params: TensorMap, names: string[]): TensorMap => Object.fromEntries(names.map((p) => [p, params[p]]));

/** Elastic weight consolidation: one penalty per earlier task, weighted by that task's Fisher. */
export const ewcMethod = definePlugin({
  kind: 'method',
  name: 'ewc',
  version: '0.1.0',
  description: "Elastic weight consolidation: a quadratic penalty weighted by each earlier task's Fisher diagonal.",
  configSchema: ewcConfigSchema,
  // A Fisher diagonal and an anchor per parameter.
  stateFloats: (_config, { params }) => 2 * params,
  training: (ctx: MethodContext<EwcConfig>): MethodTraining =>
    quadraticPenalty(
      ewcAnchors(ctx.state, ctx.taskIndex),
      ctx.config.lambda / 2,
      ctx.model.paramsForHead(ctx.head),
      guardOf('method ewc', ctx),
    ),
  afterTask: async (ctx: AfterTaskContext<EwcConfig>): Promise<TensorMap> => {
    const fisher = await taskFisher(ctx);
    const task = ewc.state.sub(ctx.taskIndex);
    return {
      ...(ctx.state ?? {}),
      ...task.sub('fisher').write(fisher),
      ...task.sub('anchor').write(anchorOf(ctx.params, Object.keys(fisher))),
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
  // A running Fisher diagonal and an anchor per parameter.
  stateFloats: (_config, { params }) => 2 * params,
  training: (ctx: MethodContext<OnlineEwcConfig>): MethodTraining =>
    ctx.state
      ? quadraticPenalty(
          [{ inputs: onlineEwc.inputs, weights: runningFisher.read(ctx.state), anchor: onlineAnchor.read(ctx.state) }],
          ctx.config.lambda / 2,
          ctx.model.paramsForHead(ctx.head),
          guardOf('method online-ewc', ctx),
        )
      : {},
  afterTask: async (ctx: AfterTaskContext<OnlineEwcConfig>): Promise<TensorMap> => {
    const fresh = await taskFisher(ctx);
    const running = runningFisher.read(ctx.state);
    const fisher: TensorMap = {};
    for (const p of new Set([...Object.keys(running), ...Object.keys(fresh)])) {
      const old = running[p];
      const now = fresh[p];
      const dims = [...(now ?? old).dims];
      const data = new Float32Array((now ?? old).data.length);
      for (let i = 0; i < data.length; i++) data[i] = ctx.config.gamma * (old ? old.data[i] : 0) + (now ? now.data[i] : 0);
      fisher[p] = { dims, data };
    }
    return {
      ...runningFisher.write(fisher),
      ...onlineAnchor.write(anchorOf(ctx.params, Object.keys(fisher))),
    };
  },
});
