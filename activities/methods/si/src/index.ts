import { definePlugin, type AfterTaskContext, type MethodContext, type MethodTraining } from '@retain/sdk';
import { paramSpec, type TensorMap } from '@retain/engine';
import { quadraticPenalty } from '@retain/methods-kit';
import { configSchema, type Config } from './config';
import { si } from './names';
import { accumulateImportance, pathIntegral, zeroSums } from './path-integral';

export { configSchema, type Config } from './config';
export * from './path-integral';

/** The state: the consolidated importance and the params it anchors to. */
const importanceState = si.state.sub('importance');
const anchorState = si.state.sub('anchor');

/**
 * Synaptic intelligence. State between tasks: the importance Omega ('importance.<p>') and the
 * params at the end of the last task ('anchor.<p>'); during a task the step graph keeps the
 * path integral and displacement as its own state.
 */
export const siMethod = definePlugin({
  kind: 'method',
  name: 'si',
  version: '0.1.0',
  description: "Synaptic intelligence: importance from each parameter's path integral, a quadratic penalty weighted by it.",
  configSchema,
  // Importance, anchor, the path integral and the previous parameters, per parameter.
  stateFloats: (_config, { params }) => 4 * params,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    const trainable = ctx.model.paramsForHead(ctx.head);
    const dims = (p: string) => [...paramSpec(ctx.model, p).dims];
    const penalty = ctx.state
      ? quadraticPenalty(
          [{ inputs: si.inputs, weights: importanceState.read(ctx.state), anchor: anchorState.read(ctx.state) }],
          ctx.config.c,
          trainable,
          {
            plugin: 'method si',
            strengthField: 'c',
            strength: ctx.config.c,
            weightName: 'Omega',
            trainer: ctx.trainer,
            clip: ctx.config.curvatureClip,
            taskIndex: ctx.taskIndex,
          },
        )
      : {};
    return {
      step: pathIntegral(trainable, dims, penalty.step),
      tensors: { ...(penalty.tensors ?? {}), ...zeroSums(trainable, dims) },
    };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    if (!ctx.trained) throw new Error('SI: consolidate got no path integral from training (methodStepStateRef is missing)');
    const trainable = ctx.model.paramsForHead(ctx.head);
    const importance = accumulateImportance(importanceState.read(ctx.state), ctx.trained, trainable, ctx.config.xi);
    const anchor: TensorMap = {};
    for (const p of Object.keys(importance)) anchor[p] = ctx.params[p];
    return { ...importanceState.write(importance), ...anchorState.write(anchor) };
  },
});
