import { z } from 'zod';

/** A-GEM (Chaudhry et al. 2019, "Efficient lifelong learning with A-GEM"). */
export const configSchema = z.strictObject({
  /** Episodic memory size across all tasks, a reservoir of past samples (our choice, as replay's). */
  memorySize: z.number().int().min(1).default(500),
  /** Memory samples the reference gradient is computed on each step (the paper: 256). */
  memoryBatch: z.number().int().min(1).default(256),
});

export type Config = z.output<typeof configSchema>;
