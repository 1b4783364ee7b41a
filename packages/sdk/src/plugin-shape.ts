import { z } from 'zod';
import type { Plugin } from './plugin';

/**
 * The shape every plugin must have at run time, whatever language it was written in: a plugin
 * from an installed package is plain JavaScript that TypeScript never checked. The registry
 * checks every plugin against it, builtin or not, so both fail alike and early.
 */
const fn = (what: string) => z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', `${what} must be a function`);

const base = {
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'name must be lower-case words joined by "-" (it is what a spec writes), e.g. my-method'),
  version: z.string().min(1, 'version must be a non-empty string, e.g. 0.1.0'),
  description: z.string().min(1, 'description must be a one-line string'),
  configSchema: z.custom<z.ZodType>(
    (v) => typeof v === 'object' && v !== null && typeof (v as { safeParse?: unknown }).safeParse === 'function',
    'configSchema must be a zod schema (e.g. z.strictObject({...}) from the zod that @retain/sdk re-exports)',
  ),
  label: fn('label').optional(),
};

const pluginShapeSchema = z.discriminatedUnion(
  'kind',
  [
    z.looseObject({ ...base, kind: z.literal('benchmark'), scenario: fn('scenario') }),
    z.looseObject({ ...base, kind: z.literal('model'), build: fn('build') }),
    z.looseObject({ ...base, kind: z.literal('trainer'), train: fn('train') }),
    z.looseObject({
      ...base,
      kind: z.literal('method'),
      training: fn('training').optional(),
      afterTask: fn('afterTask').optional(),
      transformModel: fn('transformModel').optional(),
    }),
    z.looseObject({
      ...base,
      kind: z.literal('quantizer'),
      quantize: fn('quantize'),
      trainingTransform: fn('trainingTransform').optional(),
    }),
    z.looseObject({ ...base, kind: z.literal('evaluator'), evaluate: fn('evaluate') }),
  ],
  { error: () => 'kind must be one of benchmark, model, trainer, method, quantizer, evaluator' },
);

/** What is wrong with `value` as a plugin, one line per problem; empty when it is a valid plugin. */
export function pluginShapeIssues(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`a plugin must be an object made by definePlugin, got ${describe(value)}`];
  const parsed = pluginShapeSchema.safeParse(value);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
}

/** Narrows `value` to a Plugin, or throws one error listing every problem, introduced by `what`. */
export function assertPluginShape(value: unknown, what: string): asserts value is Plugin {
  const issues = pluginShapeIssues(value);
  if (issues.length) throw new Error(`${what} is not a valid plugin:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
}

/** `kind/name` of a value that looks like a plugin, for messages; `?` where unknown. */
export function pluginLabel(value: unknown): string {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return `${typeof v.kind === 'string' ? v.kind : '?'}/${typeof v.name === 'string' ? v.name : '?'}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
