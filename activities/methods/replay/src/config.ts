import { z } from 'zod';
import { MEMORY_SAMPLINGS, type MemorySampling } from '@retain/methods-kit';

/** Experience replay (e.g. Chaudhry et al. 2019, "On tiny episodic memories in continual learning"). */
export const configSchema = z.strictObject({
  /** Samples the buffer holds across all tasks (our choice; 500 is ~1% of permuted Fashion-MNIST's 60k per task). */
  bufferSize: z.number().int().min(1).default(500),
  /** reservoir: every sample seen equally likely; class-balanced: an equal share per label. */
  policy: z.enum(['reservoir', 'class-balanced']).default('reservoir'),
  /** Share of each training batch drawn from the buffer; 0.5 = as many replayed as new (Chaudhry et al.). */
  share: z.number().min(0).max(0.95).default(0.5),
  /**
   * How each batch's replayed samples are drawn: 'with-replacement' (uniform, independent draws)
   * or 'cycle' (through a shuffled buffer, reshuffled after each pass). Absent: 'with-replacement'
   * (README.md gives the measurement). Resolved where it is used, so a config without it parses to
   * the same object as before.
   */
  sampling: z.enum(MEMORY_SAMPLINGS).optional(),
});

/** The memory sampling of a config ('with-replacement' when it names none). */
export const samplingOf = (config: Config): MemorySampling => config.sampling ?? 'with-replacement';

export type Config = z.output<typeof configSchema>;
