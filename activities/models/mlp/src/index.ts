import { z } from 'zod';
import { definePlugin } from '@retain/sdk';
import { mlp, numel } from '@retain/engine';

export const mlpConfigSchema = z.strictObject({
  /** Widths of the hidden layers. */
  hidden: z.array(z.number().int().min(1)).min(1).default([256, 256]),
  activation: z.enum(['relu', 'tanh']).default('relu'),
});
export type MlpConfig = z.output<typeof mlpConfigSchema>;

/** A multilayer perceptron with one shared head, or one head per task when the scenario asks for it. */
export const mlpModel = definePlugin({
  kind: 'model',
  name: 'mlp',
  version: '0.1.0',
  description: 'Multilayer perceptron; one shared head or a head per task, as the benchmark asks.',
  configSchema: mlpConfigSchema,
  build: (config: MlpConfig, scenario) =>
    mlp({
      inputSize: numel(scenario.inputDims),
      hidden: config.hidden,
      classesPerHead: scenario.classesPerHead,
      heads: scenario.heads,
      activation: config.activation,
    }),
});
