import { definePlugin, SpecError, type MethodContext, type MethodTraining } from '@retain/sdk';
import type { ScenarioInfo } from '@retain/data';
import { columnParams, progressiveMlp } from './columns';
import { configSchema, modelConfigSchema, type Config, type ModelConfig } from './config';
import { numel } from '@retain/engine';

export { columnParams, progressiveMlp, type ProgressiveConfig } from './columns';
export { configSchema, modelConfigSchema, type Config, type ModelConfig } from './config';

const MODEL_PREFIX = 'pnn-';

/** The architecture: one MLP column per task with lateral adapters; needs a head per task (task-IL). */
export const pnnModel = definePlugin({
  kind: 'model',
  name: 'pnn-mlp',
  version: '0.1.0',
  description: 'Progressive network of MLP columns, one per task, with lateral connections from earlier columns (task-IL).',
  configSchema: modelConfigSchema,
  build: (config: ModelConfig, scenario: ScenarioInfo) => {
    if (scenario.heads !== scenario.tasks)
      throw new SpecError('benchmark', `model 'pnn-mlp' needs a head per task (task-IL); '${scenario.name}' has ${scenario.heads} head(s)`);
    return progressiveMlp({
      inputSize: numel(scenario.inputDims),
      hidden: config.hidden,
      classesPerHead: scenario.classesPerHead,
      columns: scenario.tasks,
    });
  },
});

/**
 * Progressive neural networks (Rusu et al. 2016): task t trains only column t (its layers, head
 * and the lateral adapters into it); earlier columns are frozen, so earlier tasks are not
 * forgotten at all. Use with the model 'pnn-mlp'.
 */
export const pnnMethod = definePlugin({
  kind: 'method',
  name: 'pnn',
  version: '0.1.0',
  description: 'Progressive neural networks: a new column per task with lateral connections from frozen earlier columns (task-IL).',
  configSchema,
  training: (ctx: MethodContext<Config>): MethodTraining => {
    if (!ctx.model.name.startsWith(MODEL_PREFIX))
      throw new SpecError('model.name', `method 'pnn' trains one column per task: set it to 'pnn-mlp' (got a '${ctx.model.name}' model)`);
    const column = ctx.model.paramsForHead(ctx.head).filter((p) => p.startsWith(`col.${ctx.head}.`));
    const expected = columnParams(ctx.head, []).length; // at least the head
    if (column.length < expected) throw new Error(`method 'pnn': the model has no column ${ctx.head}`);
    return { trainable: column };
  },
  checkSpec: (_config, ctx) =>
    ctx.spec.model.name.startsWith(MODEL_PREFIX)
      ? []
      : [new SpecError('model.name', `method 'pnn' trains one column per task: set it to 'pnn-mlp' (got '${ctx.spec.model.name}')`)],
});
