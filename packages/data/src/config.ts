import { ScenarioConfigError } from './scenario';
import { z } from 'zod';

// Zod schemas so the sdk can validate experiment specs (and derive JSON Schema) before a run starts.

/**
 * The most tasks a benchmark builds: results.json holds a T x T accuracy matrix per model (10^8
 * cells at 10,000 tasks) and the run's carried state names every task, so more cannot finish.
 */
export const MAX_TASKS = 10_000;

const dataset = z.enum(['fashion-mnist']).default('fashion-mnist').describe('Source dataset');
const trainPerTask = z
  .number()
  .int()
  .positive()
  .optional()
  .describe("Training samples per task: a seeded subset of the task's samples (default: all)");
const testPerTask = z
  .number()
  .int()
  .positive()
  .optional()
  .describe("Test samples per task: a seeded subset of the task's samples (default: all)");

export const permutedConfigSchema = z
  .object({
    dataset,
    tasks: z
      .number()
      .int()
      .min(1)
      .max(MAX_TASKS, `at most ${MAX_TASKS} tasks: results.json holds a tasks x tasks accuracy matrix per model`)
      .default(5)
      .describe('Number of tasks, each a fixed random pixel permutation'),
    trainPerTask,
    testPerTask,
  })
  .strict();

export const splitConfigSchema = z
  .object({
    dataset,
    tasks: z
      .number()
      .int()
      .min(1)
      .default(5)
      .refine((t) => 10 % t === 0, { message: 'tasks must split the 10 classes evenly: use 1, 2, 5 or 10' })
      .describe('Number of tasks (1, 2, 5 or 10); the 10 classes are split evenly between them'),
    mode: z
      .enum(['task-il', 'domain-il', 'class-il'])
      .default('task-il')
      .describe(
        'task-il: one head per task with task-local labels; domain-il: one shared head over the task-local labels (the task id is not given); class-il: one head over all classes',
      ),
    shuffleClasses: z.boolean().default(false).describe('Assign classes to tasks in a seeded random order instead of 0,1 | 2,3 | ...'),
    trainPerTask,
    testPerTask,
  })
  .strict();

export type PermutedConfig = z.output<typeof permutedConfigSchema>;
export type PermutedConfigInput = z.input<typeof permutedConfigSchema>;
export type SplitConfig = z.output<typeof splitConfigSchema>;
export type SplitConfigInput = z.input<typeof splitConfigSchema>;

/** Parses a config, turning a zod failure into one message that names the scenario and the fields. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, scenario: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ScenarioConfigError(`Invalid ${scenario} scenario config:\n${z.prettifyError(result.error)}`, { cause: result.error });
  }
  return result.data;
}
