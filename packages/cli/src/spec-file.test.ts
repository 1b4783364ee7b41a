import { SpecErrors } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { parseSpec } from './spec-file';

const registry = defaultRegistry();

const valid = `
name: demo
benchmark: { name: permuted-fmnist, config: { tasks: 3 } }
model: mlp
trainer: { name: supervised, config: { epochs: 2 } }
quantizers:
  - { name: rtn, config: { bits: 4 } }
`;

function errorsOf(text: string): string[] {
  try {
    parseSpec(text, registry);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecErrors);
    return (err as SpecErrors).errors.map((e) => e.message);
  }
  throw new Error('expected the spec to be rejected');
}

describe('spec validation', () => {
  it('fills defaults from the plugins and names quantizers by their label', () => {
    const spec = parseSpec(valid, registry);
    expect(spec.method).toEqual({ name: 'naive', config: {} });
    expect(spec.trainer.config).toMatchObject({ epochs: 2, batchSize: 128 });
    expect(spec.quantizers[0].id).toBe('rtn-int4');
    expect(spec.evaluators).toEqual([{ name: 'accuracy', config: { batchSize: 1000 } }]);
    expect(spec.seed).toBe(0);
  });

  it('names an unknown plugin and lists the known ones', () => {
    const [message] = errorsOf(valid.replace('model: mlp', 'model: transformer-xl'));
    expect(message).toMatch(/^model\.name: unknown model 'transformer-xl'; available: ([\w-]+, )*mlp(, [\w-]+)*$/);
  });

  it('names a field of the wrong type inside a plugin config', () => {
    const [message] = errorsOf(valid.replace('epochs: 2', 'epochs: two'));
    expect(message).toMatch(/^trainer\.config\.epochs: /);
  });

  it('names an unknown field, at the top level and in a plugin config', () => {
    expect(errorsOf(`${valid}\nseeds: [1, 2]\n`).join('\n')).toMatch(/seeds/);
    expect(errorsOf(valid.replace('epochs: 2', 'epochs: 2, lernRate: 0.1')).join('\n')).toMatch(/^trainer\.config.*lernRate/m);
  });

  it('reports every problem at once', () => {
    const messages = errorsOf(valid.replace('model: mlp', 'model: nope').replace('bits: 4', 'bits: 3'));
    expect(messages.some((m) => m.startsWith('model.name'))).toBe(true);
    expect(messages.some((m) => m.startsWith('quantizers.0.config.bits'))).toBe(true);
  });

  it('rejects two quantizers with the same id and says how to fix it', () => {
    const messages = errorsOf(`${valid}  - { name: rtn, config: { bits: 4 } }\n`);
    expect(messages.join('\n')).toMatch(
      /quantizers\.1\.id: id 'rtn-int4' is already used by quantizers\.0; give each quantizer a distinct 'id'/,
    );
  });

  it('caps the name at 100 characters, naming the field and the limit; a name within it validates as before', () => {
    const longest = 'n'.repeat(100);
    expect(parseSpec(valid.replace('name: demo', `name: ${longest}`), registry)).toEqual({ ...parseSpec(valid, registry), name: longest });
    expect(errorsOf(valid.replace('name: demo', `name: ${'n'.repeat(300)}`))).toEqual([
      'name: at most 100 characters (it starts the run id and names the result folder)',
    ]);
  });

  it('lists the allowed values of a quantizer setting', () => {
    expect(errorsOf(valid.replace('bits: 4', 'bits: 3'))).toEqual(['quantizers.0.config.bits: 3 is not allowed; use 4, 8']);
    expect(errorsOf(valid.replace('bits: 4', 'bits: 4, granularity: block, blockSize: 48'))).toEqual([
      'quantizers.0.config.blockSize: 48 is not allowed; use 16, 32, 64, 128',
    ]);
  });

  it('reports YAML syntax errors', () => {
    expect(errorsOf('name: [unclosed').join('\n')).toMatch(/not valid YAML/);
  });

  it('requires the sections every experiment needs', () => {
    const messages = errorsOf('name: empty\n');
    for (const field of ['benchmark', 'model', 'trainer']) expect(messages.some((m) => m.startsWith(`${field}:`))).toBe(true);
  });
});
