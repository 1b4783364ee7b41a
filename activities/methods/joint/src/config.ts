import { z } from 'zod';

/** Joint training takes no parameters. */
export const configSchema = z.strictObject({});

export type Config = z.output<typeof configSchema>;
