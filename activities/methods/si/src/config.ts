import { z } from 'zod';

/** SI (Zenke, Poole & Ganguli 2017, "Continual learning through synaptic intelligence"). */
export const configSchema = z.strictObject({
  /** Strength c of the penalty c * sum_k Omega_k (theta_k - theta~_k)^2 (the paper: 0.1 on permuted MNIST; ours measured, see README). */
  c: z.number().min(0).default(0.1),
  /** Damping xi in Omega += omega / (delta^2 + xi) (the paper: 1e-3). */
  xi: z.number().positive().default(1e-3),
  /**
   * When lr * 2 c * max Omega reaches the trainer's stability bound (README): true clips Omega to
   * 90% of it; absent or false fails the run then, naming the numbers.
   */
  curvatureClip: z.boolean().optional(),
});

export type Config = z.output<typeof configSchema>;
