import { z } from 'zod';

export const rtnConfigSchema = z.strictObject({
  /** Integer width of the stored weights. */
  bits: z.union([z.literal(4), z.literal(8)]).default(8),
  /** One scale per output channel (column of a [in, out] weight). */
  granularity: z.literal('per-channel').default('per-channel'),
  /** Symmetric: zero point 0, codes in [-(2^(b-1)-1), 2^(b-1)-1]. */
  symmetric: z.literal(true).default(true),
});
export type RtnConfig = z.output<typeof rtnConfigSchema>;
