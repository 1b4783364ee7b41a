import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { SpecErrors } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { machineLimits, parseSpec } from './spec-file';

/**
 * Property: whatever is done to a valid spec (examples/*.yaml), validation ends in a spec (exit 0)
 * or in SpecErrors each naming a field (exit 2): it never throws anything else and never hangs
 * (the test's timeout bounds every case). Mutations: drop a field, give it another type,
 * duplicate it under another key, put an out-of-range number or a wrong plugin name there, or
 * nest it deeply.
 */
const examplesDir = join(__dirname, '..', '..', '..', 'examples');
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => parse(readFileSync(join(examplesDir, f), 'utf8')) as Record<string, unknown>);
const registry = defaultRegistry();

type Path = Array<string | number>;

/** Every path to a value in the spec, the root's children first. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])]);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
  return [];
}

type Mutation = (value: unknown) => unknown | typeof DROP;
const DROP = Symbol('drop');

const oddNumbers = fc.constantFrom(-1, 0, 0.5, 1.5, 1e12, -1e12, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 1e-300);
const nested = fc.integer({ min: 1, max: 200 }).map((depth) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
});
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>(() => DROP),
  fc.jsonValue().map(
    (v): Mutation =>
      () =>
        v,
  ),
  oddNumbers.map(
    (n): Mutation =>
      () =>
        n,
  ),
  fc.constantFrom('', 'nope', 'Permuted', 'a/b', '../x', 'mlp', 'rtn', 'x'.repeat(300)).map(
    (s): Mutation =>
      () =>
        s,
  ),
  nested.map(
    (v): Mutation =>
      () =>
        v,
  ),
  fc.constant<Mutation>((v) => (Array.isArray(v) ? [...v, ...v] : v && typeof v === 'object' ? { ...v, ...v, copy: v } : [v, v])),
);

function mutate(spec: Record<string, unknown>, path: Path, m: Mutation): unknown {
  const copy = structuredClone(spec);
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  const next = m(parent[last]);
  if (next === DROP) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = next;
  return copy;
}

describe('validation of mutated example specs', () => {
  it('ends in a spec or in errors that each name a field, never anything else', () => {
    const cases = fc
      .integer({ min: 0, max: examples.length - 1 })
      .chain((i) => fc.tuple(fc.constant(i), fc.constantFrom(...pathsOf(examples[i])), fc.array(mutation, { minLength: 1, maxLength: 3 })));
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(cases, ([i, path, mutations]) => {
        const spec = mutations.reduce((s: unknown, m) => mutate(s as Record<string, unknown>, path, m), examples[i]);
        let text: string;
        try {
          text = stringify(spec);
        } catch {
          return; // not expressible as YAML (e.g. a cycle): nothing a user could write
        }
        try {
          parseSpec(text, registry, 'fuzz.yaml', machineLimits());
          accepted++;
        } catch (err) {
          if (!(err instanceof SpecErrors)) throw err;
          refused++;
          for (const e of err.errors) {
            expect(e.field).not.toBe('');
            expect(err.message).toContain(`${e.field}: `);
          }
        }
      }),
      { numRuns: 400, seed: 15 },
    );
    // Both outcomes happen: the mutations reach past the schema's first line of defence.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
