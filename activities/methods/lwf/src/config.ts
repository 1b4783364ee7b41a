import { z } from 'zod';

/** LwF (Li & Hoiem 2016, "Learning without forgetting"). */
export const configSchema = z.strictObject({
  /** Distillation temperature T (the paper: 2). */
  temperature: z.number().positive().default(2),
  /** Weight alpha of the distillation loss (the paper's lambda_o: 1). */
  alpha: z.number().min(0).default(1),
});

export type Config = z.output<typeof configSchema>;
