import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { definePlugin, type MethodPlugin } from '@retain/sdk';

/**
 * A method that trains like `naive` and, after task `holdAtTask`, waits while the file
 * `whileFileExists` exists: a fault test holds a run inside that task's finishTask (its training
 * complete) for as long as it needs, instead of racing a few seconds of compute. The activity's
 * background heartbeat keeps it alive meanwhile.
 */
export const holdingMethod: MethodPlugin<{ holdAtTask: number; whileFileExists: string }> = definePlugin({
  kind: 'method',
  name: 'holding',
  version: '0.0.1',
  description: 'Test only: naive, holding after task `holdAtTask` while `whileFileExists` exists.',
  configSchema: z.strictObject({ holdAtTask: z.number().int().min(0), whileFileExists: z.string() }),
  afterTask: async ({ config, taskIndex }) => {
    while (taskIndex === config.holdAtTask && existsSync(config.whileFileExists)) await sleep(50);
    return undefined;
  },
});
