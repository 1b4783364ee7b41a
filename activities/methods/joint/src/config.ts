import { z } from 'zod';

export const configSchema = z.strictObject({
  /**
   * What the trainer's epochs run over on task t. Absent or `task` (the default, as before): the
   * task's own step count, each batch drawn from tasks 0..t; task t gets about 1/(t+1) of it.
   * `union`: epochs over the union of tasks 0..t, so the steps grow with t: the upper bound.
   */
  epochsOver: z.enum(['task', 'union']).optional(),
});

export type Config = z.output<typeof configSchema>;
