import { z } from 'zod';
import { definePlugin } from './plugin';
import { PluginRegistry } from './registry';
import { SpecErrors } from './errors';

const toyMethod = definePlugin({
  kind: 'method',
  name: 'toy',
  version: '0.0.1',
  description: 'a method for tests',
  configSchema: z.strictObject({ strength: z.number().positive().default(1) }),
});
const toyQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'toyq',
  version: '0.0.1',
  description: 'a quantizer for tests',
  configSchema: z.strictObject({ bits: z.number().int().default(8) }),
  label: (c: { bits: number }) => `toyq-${c.bits}`,
  quantize: async () => ({ weights: {} }),
});
const stub = (kind: 'benchmark' | 'model' | 'trainer' | 'evaluator', name: string) =>
  ({ kind, name, version: '0', description: '', configSchema: z.strictObject({}) }) as never;

const registry = new PluginRegistry([
  toyMethod,
  toyQuantizer,
  stub('benchmark', 'b'),
  stub('model', 'm'),
  stub('trainer', 't'),
  stub('evaluator', 'accuracy'),
]);
const base = { name: 'x', benchmark: 'b', model: 'm', trainer: 't', method: 'toy' };

describe('PluginRegistry', () => {
  it('refuses to register two plugins of one kind under one name', () => {
    expect(() => registry.register(toyMethod)).toThrow(/method\/toy is registered twice/);
  });

  it('finds plugins by kind and name, and lists names per kind', () => {
    expect(registry.get('method', 'toy')).toBe(toyMethod);
    expect(registry.find('quantizer', 'toy')).toBeUndefined();
    expect(registry.names('quantizer')).toEqual(['toyq']);
    expect(() => registry.get('method', 'ewc')).toThrow(/unknown method 'ewc'; available: toy/);
  });

  it('fills plugin defaults and quantizer ids from labels', () => {
    const spec = registry.validateSpec({
      ...base,
      quantizers: ['toyq', { name: 'toyq', config: { bits: 4 } }, { id: 'mine', name: 'toyq' }],
    });
    expect(spec.method.config).toEqual({ strength: 1 });
    expect(spec.quantizers.map((q) => q.id)).toEqual(['toyq-8', 'toyq-4', 'mine']);
    expect(spec.execution.taskQueue).toBe('retain');
  });

  it('names each field at fault, with its full path', () => {
    try {
      registry.validateSpec({ ...base, method: { name: 'toy', config: { strength: -1 } }, quantizers: [{ id: 'fp32', name: 'toyq' }] });
      throw new Error('expected rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(SpecErrors);
      const fields = (err as SpecErrors).errors.map((e) => e.field);
      expect(fields).toEqual(['method.config.strength', 'quantizers.0.id']);
    }
  });

  it('takes a heartbeat timeout between 3 s and an hour, naming the field otherwise', () => {
    expect(registry.validateSpec(base).execution.heartbeatTimeoutSeconds).toBeUndefined(); // the workflow's default applies
    const set = registry.validateSpec({ ...base, execution: { heartbeatTimeoutSeconds: 30 } });
    expect(set.execution).toEqual({ taskQueue: 'retain', heartbeatTimeoutSeconds: 30 });
    expect(() => registry.validateSpec({ ...base, execution: { heartbeatTimeoutSeconds: 1 } })).toThrow(
      /execution\.heartbeatTimeoutSeconds: at least 3 seconds/,
    );
    expect(() => registry.validateSpec({ ...base, execution: { heartbeatTimeoutSeconds: 7200 } })).toThrow(
      /execution\.heartbeatTimeoutSeconds: at most 3600 seconds/,
    );
  });

  it('takes an event budget per execution between 1 and 10000 whole events, naming the field otherwise', () => {
    expect(registry.validateSpec(base).execution.continueAsNewAfterEvents).toBeUndefined(); // the workflow's default applies
    expect(registry.validateSpec({ ...base, execution: { continueAsNewAfterEvents: 1 } }).execution.continueAsNewAfterEvents).toBe(1);
    expect(() => registry.validateSpec({ ...base, execution: { continueAsNewAfterEvents: 0 } })).toThrow(
      /execution\.continueAsNewAfterEvents: at least 1/,
    );
    expect(() => registry.validateSpec({ ...base, execution: { continueAsNewAfterEvents: 20_000 } })).toThrow(
      /execution\.continueAsNewAfterEvents: at most 10000/,
    );
    expect(() => registry.validateSpec({ ...base, execution: { continueAsNewAfterEvents: 2.5 } })).toThrow(
      /execution\.continueAsNewAfterEvents/,
    );
  });

  it('rejects a spec name that cannot be a run id', () => {
    expect(() => registry.validateSpec({ ...base, name: 'has spaces' })).toThrow(/name: use letters, digits/);
  });

  describe('qat', () => {
    const qatQuantizer = definePlugin({
      kind: 'quantizer',
      name: 'qatq',
      version: '0.0.1',
      description: 'a quantizer that can be trained through',
      configSchema: z.strictObject({}),
      quantize: async () => ({ weights: {} }),
      trainingTransform: () => ({}),
    });
    const withQat = new PluginRegistry([...registry.list(), qatQuantizer]);
    const errorsOf = (raw: unknown) => {
      try {
        withQat.validateSpec(raw);
      } catch (err) {
        return (err as SpecErrors).errors.map((e) => e.message);
      }
      return [];
    };

    it('accepts the id of a listed quantizer that has a training transform, lsq off by default', () => {
      const spec = withQat.validateSpec({ ...base, quantizers: [{ id: 'q4', name: 'qatq' }], qat: { quantizer: 'q4' } });
      expect(spec.qat).toEqual({ quantizer: 'q4', lsq: false });
    });

    it('rejects an id that no quantizer has, naming the ids there are', () => {
      expect(errorsOf({ ...base, quantizers: ['toyq', 'qatq'], qat: { quantizer: 'q4' } })).toEqual([
        "qat.quantizer: 'q4' is not the id of a quantizer in this spec; use one of toyq-8, qatq",
      ]);
    });

    it('rejects a quantizer without quantization-aware training, naming those that have it', () => {
      expect(errorsOf({ ...base, quantizers: ['toyq', 'qatq'], qat: { quantizer: 'toyq-8', lsq: true } })).toEqual([
        "qat.quantizer: quantizer 'toyq' (id 'toyq-8') has no quantization-aware training; quantizers that have it: qatq",
      ]);
    });

    it('rejects unknown qat fields', () => {
      expect(errorsOf({ ...base, quantizers: ['qatq'], qat: { quantizer: 'qatq', bits: 4 } })[0]).toBe(
        'qat.bits: unknown field; the fields here are quantizer, lsq',
      );
    });
  });
});
