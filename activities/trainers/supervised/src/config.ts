import { z } from 'zod';

const sgd = z.strictObject({
  name: z.literal('sgd'),
  momentum: z.number().min(0).max(1).default(0.9),
  nesterov: z.boolean().default(false),
  weightDecay: z.number().min(0).default(0),
});
const adam = z.strictObject({
  name: z.literal('adam'),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
});

export const supervisedConfigSchema = z.strictObject({
  /** Passes over the task's training set. Ignored when `steps` is set. */
  epochs: z.number().int().min(1).default(1),
  /** Optimizer steps per task; overrides `epochs` (the data order keeps cycling through epochs). */
  steps: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(1).max(65536).default(128),
  /** Learning rate; the same for every task (schedules come with the engine's schedule support). */
  lr: z.number().positive().default(0.05),
  /**
   * Save a mid-task checkpoint every this many steps (besides `checkpointSeconds`); a crashed
   * worker's retry resumes from the last one. Unset: time-based only.
   */
  checkpointEvery: z.number().int().min(1).optional(),
  /**
   * Save a mid-task checkpoint after this many seconds of training since the last one; 0 turns
   * time-based checkpoints off. 5 s bounds the work a crash loses to a few seconds, at a cost the
   * orchestration benchmark measures (an MLP's checkpoint takes milliseconds to store).
   */
  checkpointSeconds: z.number().min(0).default(5),
  optimizer: z
    .preprocess((v) => (typeof v === 'string' ? { name: v } : v), z.discriminatedUnion('name', [sgd, adam]))
    .default({ name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0 }),
});

export type SupervisedConfig = z.output<typeof supervisedConfigSchema>;
