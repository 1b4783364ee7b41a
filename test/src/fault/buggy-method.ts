import { z } from 'zod';
import { definePlugin, type MethodPlugin } from '@retain/sdk';

/**
 * A method with a bug, for fault tests: its after-task hook dereferences undefined on task
 * `failAtTask`, as a plugin with a real bug would. The fix is a corrected spec (another method).
 */
export const buggyMethod: MethodPlugin<{ failAtTask: number }> = definePlugin({
  kind: 'method',
  name: 'buggy',
  version: '0.0.1',
  description: 'Test only: throws a TypeError after task `failAtTask`.',
  configSchema: z.strictObject({ failAtTask: z.number().int().min(0).default(1) }),
  afterTask: async ({ config, taskIndex }) => {
    if (taskIndex === config.failAtTask) {
      const missing = undefined as unknown as { fisher: { length: number } };
      return { n: { dims: [1], data: new Float32Array([missing.fisher.length]) } };
    }
    return undefined;
  },
});
