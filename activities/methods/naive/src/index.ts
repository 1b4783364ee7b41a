import { z } from 'zod';
import { definePlugin } from '@retain/sdk';

/** Plain fine-tuning: no protection against forgetting. The lower bound every method is compared with. */
export const naiveMethod = definePlugin({
  kind: 'method',
  name: 'naive',
  version: '0.1.0',
  description: 'Plain fine-tuning on each task in turn; the lower bound for forgetting.',
  configSchema: z.strictObject({}),
  training: () => ({}),
});
