import { quantizerConfigSchema } from '@retain/sdk';
import type { z } from 'zod';

/** RTN has no parameters of its own: bits, granularity, blockSize, symmetric, format, accuracyLevel. */
export const rtnConfigSchema = quantizerConfigSchema({});
export type RtnConfig = z.output<typeof rtnConfigSchema>;
