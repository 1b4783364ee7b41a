import { definePlugin } from '@retain/sdk';
import { permutedConfigSchema, permutedOutline, permutedScenario, splitConfigSchema, splitOutline, splitScenario } from '@retain/data';

/** Permuted Fashion-MNIST: every task is the same 10 classes under its own pixel permutation (domain-IL). */
export const permutedFashionMnist = definePlugin({
  kind: 'benchmark',
  name: 'permuted-fmnist',
  version: '0.1.0',
  description: 'Fashion-MNIST, one fixed pixel permutation per task; one shared 10-class head (domain-IL).',
  configSchema: permutedConfigSchema,
  scenario: (config, seed) => permutedScenario(config, seed),
  outline: (config) => permutedOutline(config),
});

/** Split Fashion-MNIST: the 10 classes dealt out to tasks (task-IL with a head per task, or class-IL). */
export const splitFashionMnist = definePlugin({
  kind: 'benchmark',
  name: 'split-fmnist',
  version: '0.1.0',
  description: 'Fashion-MNIST classes split across tasks; task-IL (a head per task) or class-IL (one head).',
  configSchema: splitConfigSchema,
  scenario: (config, seed) => splitScenario(config, seed),
  outline: (config) => splitOutline(config),
});
