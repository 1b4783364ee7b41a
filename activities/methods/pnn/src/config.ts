import { z } from 'zod';

/** The progressive network's columns (the model plugin 'pnn-mlp'). */
export const modelConfigSchema = z.strictObject({
  /** Hidden widths of each column (our choice: one column is a small MLP; columns add up). */
  hidden: z.array(z.number().int().min(1)).min(1).default([128]),
});
export type ModelConfig = z.output<typeof modelConfigSchema>;

/** The method takes no parameters: which params train is fixed by the architecture. */
export const configSchema = z.strictObject({});
export type Config = z.output<typeof configSchema>;
