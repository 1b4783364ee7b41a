import { z } from 'zod';
import { definePlugin } from '@retain/sdk';
import { textOutline, textScenario } from '@retain/data';

export const textConfigSchema = z.strictObject({
  /** One task per text, by file name in the text folder (Debian's licence texts by default). */
  sources: z.array(z.string().min(1)).min(1).default(['GPL-3', 'Apache-2.0', 'MPL-2.0']),
  /** Bytes of context per sample (the transformer's window). */
  context: z.number().int().min(1).default(32),
  /** Share of each text (its end) held out for testing. */
  testFraction: z.number().gt(0).lt(1).default(0.1),
  /** shared: one 256-way head (domain-IL); per-task: a head per text (task-IL). */
  heads: z.enum(['shared', 'per-task']).default('shared'),
});
export type TextConfig = z.output<typeof textConfigSchema>;

/** Next-byte prediction, one task per text; one shared 256-way head (domain-IL) or a head per text. */
export const textBytes = definePlugin({
  kind: 'benchmark',
  name: 'text-bytes',
  version: '0.1.0',
  description: 'Byte-level next-token prediction on real texts (Debian licence texts by default), one task per text.',
  configSchema: textConfigSchema,
  scenario: (config: TextConfig) => textScenario(config),
  /** Source names and sizes from the text folder (file sizes only, nothing read). */
  outline: (config: TextConfig) => textOutline(config),
});
