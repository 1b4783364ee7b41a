import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { defaultRegistry } from '@retain/worker';
import { specJsonSchema, specJsonSchemaText } from './spec-schema';
import { parseSpec } from './spec-file';
import { starterSpec } from './starter-spec';

const root = join(__dirname, '..', '..', '..');
const examplesDir = join(root, 'examples');
/** Every example spec, sweeps included where the repo has them. */
const examples = [examplesDir, join(examplesDir, 'sweeps')].flatMap((dir) => {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
});

/** A real JSON Schema validator (draft-07, strict: an unknown keyword in the schema is an error). */
function validator() {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
  return ajv.compile(specJsonSchema(defaultRegistry()));
}

describe('retain.schema.json', () => {
  it('is what `retain schema` prints (regenerate it with `npm run schema`)', () => {
    const committed = readFileSync(join(root, 'retain.schema.json'), 'utf8');
    const fresh = specJsonSchemaText(defaultRegistry());
    if (committed !== fresh) {
      throw new Error(
        'retain.schema.json differs from what `retain schema` prints: the spec schema or a plugin config changed. ' +
          'Regenerate it with `npm run schema` (it builds, then runs `retain schema --out retain.schema.json`) and commit it.',
      );
    }
  });

  it('accepts every example spec', () => {
    const validate = validator();
    for (const file of examples) {
      const ok = validate(parse(readFileSync(file, 'utf8')));
      expect({ file, errors: ok ? null : validate.errors }).toEqual({ file, errors: null });
    }
  });

  it("checks each plugin's config by the plugin's name, and the name shorthands", () => {
    const validate = validator();
    const base = { name: 'x', benchmark: 'permuted-fmnist', model: 'mlp', trainer: { name: 'supervised', config: { optimizer: 'adam' } } };
    expect(validate({ ...base, method: { name: 'ewc', config: { lambda: 5 } }, quantizers: ['rtn'] })).toBe(true);
    // ewc's lambda is a number; naive has no lambda at all; no method is called 'ewk'.
    expect(validate({ ...base, method: { name: 'ewc', config: { lambda: 'big' } } })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain('/method/config/lambda');
    expect(validate({ ...base, method: { name: 'naive', config: { lambda: 5 } } })).toBe(false);
    expect(validate({ ...base, method: 'ewk' })).toBe(false);
    expect(validate({ ...base, quantizers: [{ name: 'rtn', config: { bits: 3 } }] })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain('/quantizers/0/config/bits');
    expect(validate({ ...base, trainer: { name: 'supervised', config: { optimizer: 'adagrad' } } })).toBe(false);
    expect(validate({ ...base, execution: { priority: 1 } })).toBe(true);
    expect(validate({ ...base, execution: { priority: 6 } })).toBe(false);
  });

  it('every example starts with the yaml-language-server comment naming retain.schema.json', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples) {
      const first = readFileSync(file, 'utf8').split('\n')[0];
      const depth = file.slice(examplesDir.length + 1).split('/').length; // examples/x.yaml: 1, examples/sweeps/x.yaml: 2
      expect({ file, first }).toEqual({ file, first: `# yaml-language-server: $schema=${'../'.repeat(depth)}retain.schema.json` });
    }
  });
});

describe('retain init', () => {
  it('writes a starter spec that validates and that the JSON Schema accepts', () => {
    const text = starterSpec({ name: 'first-try', schemaPath: '../retain.schema.json' });
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../retain.schema.json');
    const spec = parseSpec(text, defaultRegistry());
    expect(spec.name).toBe('first-try');
    expect(spec.quantizers.map((q) => q.id)).toEqual(['rtn-int8', 'rtn-int4']);
    expect(validator()(parse(text))).toBe(true);
    // Every section of the spec is there, written or commented out, each after a comment saying why.
    for (const section of [
      'name',
      'description',
      'seed',
      'benchmark',
      'model',
      'trainer',
      'method',
      'quantizers',
      'evaluators',
      'execution',
      'evaluation',
    ]) {
      expect(text).toMatch(new RegExp(`^# .+\\n(# .+\\n)*${section}:`, 'm'));
    }
    expect(text).toMatch(/^# qat: /m);
  });

  it('names the spec after a file name that is a valid spec name, else my-experiment', () => {
    expect(parseSpec(starterSpec({ name: 'has space', schemaPath: 's' }), defaultRegistry()).name).toBe('my-experiment');
  });
});
