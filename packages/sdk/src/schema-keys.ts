import type { z } from 'zod';

/**
 * The keys an object schema accepts at `path` (through defaults, optionals, preprocessing, arrays
 * and unions), for "unknown field" messages that list what is allowed. Empty where it cannot tell.
 */
export function knownKeys(schema: z.ZodType, path: string[]): string[] {
  const keys = new Set<string>();
  walk(schema, path, keys);
  return [...keys];
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  out?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
}

function walk(schema: z.ZodType, path: string[], keys: Set<string>, depth = 0): void {
  if (depth > 50) return;
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  const next = (s: z.ZodType | undefined, p = path) => s && walk(s, p, keys, depth + 1);
  switch (def.type) {
    case 'object':
      if (path.length === 0) Object.keys(def.shape ?? {}).forEach((k) => keys.add(k));
      else next(def.shape?.[path[0]], path.slice(1));
      return;
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
    case 'readonly':
      return next(def.innerType);
    case 'pipe':
      // preprocess is a pipe from a transform into the schema: the keys are the output's.
      return next(def.out?._zod && (def.out as unknown as { _zod: { def: Def } })._zod.def.type !== 'transform' ? def.out : def.in);
    case 'array':
      return path.length > 0 ? next(def.element, path.slice(1)) : undefined;
    case 'record':
      return path.length > 0 ? next(def.valueType, path.slice(1)) : undefined;
    // A union (an optimizer by name): which option applies depends on the value, so no list.
    default:
      return;
  }
}
