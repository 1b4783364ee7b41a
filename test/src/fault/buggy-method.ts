import { existsSync } from 'node:fs';
import { z } from 'zod';
import { definePlugin, type MethodPlugin } from '@retain/sdk';

/**
 * A method with a bug, for fault tests: its after-task hook dereferences undefined on task
 * `failAtTask`, as a plugin with a real bug would. The fix is a corrected spec (another method),
 * or, with `whileFileExists`, deleting that file: the bug is there only while the file is, as if
 * the plugin's code were fixed between the failure and `retain resume`.
 */
export const buggyMethod: MethodPlugin<{ failAtTask: number; whileFileExists?: string }> = definePlugin({
  kind: 'method',
  name: 'buggy',
  version: '0.0.1',
  description: 'Test only: throws a TypeError after task `failAtTask` (while `whileFileExists` exists, if given).',
  configSchema: z.strictObject({ failAtTask: z.number().int().min(0).default(1), whileFileExists: z.string().optional() }),
  afterTask: async ({ config, taskIndex }) => {
    const buggy = config.whileFileExists === undefined || existsSync(config.whileFileExists);
    if (taskIndex === config.failAtTask && buggy) {
      const missing = undefined as unknown as { fisher: { length: number } };
      return { n: { dims: [1], data: new Float32Array([missing.fisher.length]) } };
    }
    return undefined;
  },
});
