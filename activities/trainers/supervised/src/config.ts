import { lrScheduleSchema } from '@retain/engine';
import { z } from 'zod';

/** Clip gradients to this global L2 norm before the update (torch's clip_grad_norm_); off when absent. */
const maxGradNorm = z.number().positive().optional();
const sgd = z.strictObject({
  name: z.literal('sgd'),
  momentum: z.number().min(0).max(1).default(0.9),
  nesterov: z.boolean().default(false),
  weightDecay: z.number().min(0).default(0),
  maxGradNorm,
});
const adamFields = {
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  maxGradNorm,
};
/** Adam with L2 weight decay added to the gradient (torch.optim.Adam). */
const adam = z.strictObject({ name: z.literal('adam'), ...adamFields, weightDecay: z.number().min(0).default(0) });
/** Adam with decoupled weight decay (torch.optim.AdamW, Loshchilov & Hutter 2019; default 0.01 as in torch). */
const adamw = z.strictObject({ name: z.literal('adamw'), ...adamFields, weightDecay: z.number().min(0).default(0.01) });

export const supervisedConfigSchema = z.strictObject({
  /** Passes over the task's training set. Ignored when `steps` is set. */
  epochs: z.number().int().min(1).default(1),
  /** Optimizer steps per task; overrides `epochs` (the data order keeps cycling through epochs). */
  steps: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(1).max(65536).default(128),
  /** Base learning rate; `schedule` shapes it over each task's steps. */
  lr: z.number().positive().default(0.05),
  /** Learning-rate schedule over a task's steps (restarts each task); the step graph reads lr per step. */
  schedule: z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), lrScheduleSchema).default({ name: 'constant', warmupSteps: 0 }),
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
  /**
   * Optimizer steps per graph run: K > 1 runs K steps inside one graph (bit-identical to K single
   * steps; single steps still serve an epoch's short last batch, checkpoint boundaries and the
   * task's tail). Default 8: measured 12-15% less CPU per task than 1 on the CPU (README).
   */
  stepsPerRun: z.number().int().min(1).max(64).default(8),
  /**
   * Mixed precision: 'fp16' or 'bf16' matrix products (forward and backward) with float32 master
   * weights, loss and optimizer; 'off' (default) is float32 throughout. A GPU provider's option:
   * onnxruntime's CPU provider multiplies 'fp16' in float32 and has no 'bf16' MatMul.
   */
  mixedPrecision: z.enum(['off', 'fp16', 'bf16']).default('off'),
  /** Static loss scale under 'fp16' (a power of two keeps it exact), against gradients underflowing float16. */
  lossScale: z.number().positive().default(1024),
  optimizer: z
    .preprocess((v) => (typeof v === 'string' ? { name: v } : v), z.discriminatedUnion('name', [sgd, adam, adamw]))
    .default({ name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0 }),
});

export type SupervisedConfig = z.output<typeof supervisedConfigSchema>;
