import { z } from 'zod';
import { MEMORY_SAMPLINGS } from '@retain/methods-kit';

/** A-GEM (Chaudhry et al. 2019, "Efficient lifelong learning with A-GEM"). */
export const configSchema = z.strictObject({
  /** Episodic memory size across all tasks, a reservoir of past samples (our choice, as replay's). */
  memorySize: z.number().int().min(1).default(500),
  /** Memory samples the reference gradient is computed on each step (the paper: 256). */
  memoryBatch: z.number().int().min(1).default(256),
  /**
   * How each reference batch is drawn from the memory: 'cycle' (through a shuffled memory,
   * reshuffled after each pass) or 'with-replacement' (uniform, independent draws; the default
   * before it was measured). 'cycle' forgot less beyond noise on class-IL with plain SGD and was
   * never worse beyond noise (README.md, "Memory sampling").
   */
  sampling: z.enum(MEMORY_SAMPLINGS).default('cycle'),
});

export type Config = z.output<typeof configSchema>;
