import { z } from 'zod';
import { MEMORY_SAMPLINGS, type MemorySampling } from '@retain/methods-kit';

/** A-GEM (Chaudhry et al. 2019, "Efficient lifelong learning with A-GEM"). */
export const configSchema = z.strictObject({
  /** Episodic memory size across all tasks, a reservoir of past samples (our choice, as replay's). */
  memorySize: z.number().int().min(1).default(500),
  /** Memory samples the reference gradient is computed on each step (the paper: 256). */
  memoryBatch: z.number().int().min(1).default(256),
  /**
   * How each reference batch is drawn from the memory: 'with-replacement' (uniform, independent
   * draws) or 'cycle' (through a shuffled memory, reshuffled after each pass). Absent:
   * 'with-replacement' (README.md gives the measurement). Resolved where it is used, so a config
   * without it parses to the same object as before.
   */
  sampling: z.enum(MEMORY_SAMPLINGS).optional(),
});

/** The memory sampling of a config ('with-replacement' when it names none). */
export const samplingOf = (config: Config): MemorySampling => config.sampling ?? 'with-replacement';

export type Config = z.output<typeof configSchema>;
