import { definePlugin, type AfterTaskContext, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { TensorMap } from '@retain/engine';
import { configSchema, type Config } from './config';
import { distillation } from './distillation';
import { lwf } from './names';

export { configSchema, type Config } from './config';
export { distillation, oldName } from './distillation';

/** The teacher in the state: 'old.<p>'. */
const teacherState = lwf.state.sub('old');

/**
 * Learning without forgetting. State between tasks: the params after the last task ('old.<p>'),
 * the teacher whose outputs on the new task's data the model is distilled to.
 */
export const lwfMethod = definePlugin({
  kind: 'method',
  name: 'lwf',
  version: '0.1.0',
  description: "Learning without forgetting: distillation to the previous model's outputs on the current task's data.",
  configSchema,
  // The previous task's model, to distil from.
  stateFloats: (_config, { params }) => params,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    if (!ctx.state || ctx.config.alpha === 0) return {};
    const old = teacherState.read(ctx.state);
    // A shared head: distil it. A head per task: distil every earlier task's head.
    const heads = ctx.model.heads === 1 ? [0] : Array.from({ length: ctx.taskIndex }, (_, j) => j);
    return distillation(old, heads, ctx.config.temperature, ctx.config.alpha);
  },
  afterTask: async (ctx: AfterTaskContext<Config>): Promise<TensorMap> => teacherState.write(ctx.params),
});
