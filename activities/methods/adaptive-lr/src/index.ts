import { definePlugin, type AfterTaskContext, type MethodContext, type MethodTraining } from '@retain/sdk';
import { add, div, mul, type StepMethod, type TensorMap } from '@retain/engine';
import { namespace, taskFisher } from '@retain/methods-kit';
import { configSchema, type Config } from './config';

export { configSchema, type Config } from './config';

/** Inputs 'adaptive-lr.importance.<param>'; state: the summed Fisher 'fisher.<param>'. */
const adaptiveLr = namespace('adaptive-lr', { state: 'unprefixed' });
const importanceInputs = adaptiveLr.inputs.sub('importance');
const summedFisher = adaptiveLr.state.sub('fisher');

/** g_i / (1 + strength * F_i) for every trainable param with an importance; F is a graph input. */
export function importanceScaling(importance: TensorMap, strength: number, trainable: string[]): { step: StepMethod; tensors: TensorMap } {
  const scaled = trainable.filter((p) => importance[p]);
  const constants: Record<string, number[]> = {};
  const tensors: TensorMap = {};
  for (const p of scaled) {
    constants[importanceInputs.name(p)] = [...importance[p].dims];
    tensors[importanceInputs.name(p)] = importance[p];
  }
  return {
    step: {
      constants,
      gradientTransform: ({ grads, inputs }) => {
        const out = { ...grads };
        for (const p of scaled) out[p] = div(grads[p], add(mul(inputs[importanceInputs.name(p)], strength), 1));
        return out;
      },
    },
    tensors,
  };
}

/** Per-task learning-rate decay and importance-scaled steps. State: the summed Fisher ('fisher.<p>'). */
export const adaptiveLrMethod = definePlugin({
  kind: 'method',
  name: 'adaptive-lr',
  version: '0.1.0',
  description:
    'Per-task learning-rate decay and per-parameter steps scaled down by importance (Fisher), so consolidated weights move less.',
  configSchema,
  // A Fisher diagonal and an anchor per parameter.
  stateFloats: (_config, { params }) => 2 * params,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    const lrScale = ctx.config.taskDecay ** ctx.taskIndex;
    const importance = summedFisher.read(ctx.state);
    if (!Object.keys(importance).length || ctx.config.strength === 0) return { lrScale };
    return { ...importanceScaling(importance, ctx.config.strength, ctx.model.paramsForHead(ctx.head)), lrScale };
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => {
    const fresh = await taskFisher(ctx);
    const summed = summedFisher.read(ctx.state);
    for (const [p, f] of Object.entries(fresh)) {
      const old = summed[p];
      summed[p] = { dims: [...f.dims], data: old ? Float32Array.from(f.data, (v, i) => v + old.data[i]) : f.data };
    }
    return summedFisher.write(summed);
  },
});
