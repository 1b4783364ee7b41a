import type { z } from 'zod';
import { SpecError, SpecErrors } from './errors';
import { experimentSpecSchema, type ExperimentSpec, type PluginRef } from './spec';
import type { Plugin, PluginKind, PluginOfKind, QuantizerPlugin } from './plugin';

/** The plugins a worker or CLI knows, by kind and name. */
export class PluginRegistry {
  private readonly plugins = new Map<string, Plugin>();

  constructor(plugins: Plugin[] = []) {
    for (const p of plugins) this.register(p);
  }

  register(plugin: Plugin): this {
    const key = `${plugin.kind}/${plugin.name}`;
    if (this.plugins.has(key)) throw new Error(`plugin ${key} is registered twice`);
    this.plugins.set(key, plugin);
    return this;
  }

  find<K extends PluginKind>(kind: K, name: string): PluginOfKind<K> | undefined {
    return this.plugins.get(`${kind}/${name}`) as PluginOfKind<K> | undefined;
  }

  get<K extends PluginKind>(kind: K, name: string): PluginOfKind<K> {
    const plugin = this.find(kind, name);
    if (!plugin) throw this.unknown(kind, name);
    return plugin;
  }

  private unknown(kind: PluginKind, name: string): SpecError {
    return new SpecError(kind, `unknown ${kind} '${name}'; available: ${this.names(kind).join(', ') || 'none'}`);
  }

  names(kind: PluginKind): string[] {
    return [...this.plugins.values()]
      .filter((p) => p.kind === kind)
      .map((p) => p.name)
      .sort();
  }

  list(): Plugin[] {
    return [...this.plugins.values()];
  }

  /**
   * Checks a spec as parsed from YAML: its shape, every plugin name, every plugin's config.
   * Reports every problem at once, each naming its field; returns the spec with defaults filled.
   */
  validateSpec(raw: unknown): ExperimentSpec {
    const parsed = experimentSpecSchema.safeParse(raw);
    if (!parsed.success) throw new SpecErrors(issuesToErrors(parsed.error, ''));
    const spec = parsed.data;
    const errors: SpecError[] = [];

    const check = <K extends PluginKind>(kind: K, ref: PluginRef, path: string): PluginRef => {
      const plugin = this.find(kind, ref.name);
      if (!plugin) {
        errors.push(new SpecError(`${path}.name`, `unknown ${kind} '${ref.name}'; available: ${this.names(kind).join(', ') || 'none'}`));
        return ref;
      }
      const config = (plugin.configSchema as z.ZodType).safeParse(ref.config);
      if (!config.success) {
        errors.push(...issuesToErrors(config.error, `${path}.config`));
        return ref;
      }
      return { ...ref, config: config.data as Record<string, unknown> };
    };

    const benchmark = check('benchmark', spec.benchmark, 'benchmark');
    const model = check('model', spec.model, 'model');
    const trainer = check('trainer', spec.trainer, 'trainer');
    const method = check('method', spec.method, 'method');
    const evaluators = spec.evaluators.map((e, i) => check('evaluator', e, `evaluators.${i}`));
    const seen = new Map<string, number>();
    const quantizers = spec.quantizers.map((q, i) => {
      const checked = check('quantizer', q, `quantizers.${i}`);
      const plugin = this.find('quantizer', q.name);
      const id = q.id ?? plugin?.label?.(checked.config) ?? q.name;
      const twin = seen.get(id);
      if (twin !== undefined) {
        errors.push(
          new SpecError(`quantizers.${i}.id`, `id '${id}' is already used by quantizers.${twin}; give each quantizer a distinct 'id'`),
        );
      }
      if (id === 'fp32') errors.push(new SpecError(`quantizers.${i}.id`, `'fp32' names the unquantized model; choose another id`));
      seen.set(id, i);
      return { ...checked, id };
    });
    if (spec.qat) errors.push(...this.checkQat(spec.qat.quantizer, quantizers));
    if (errors.length > 0) throw new SpecErrors(errors);
    return { ...spec, benchmark, model, trainer, method, evaluators, quantizers };
  }

  /** `qat.quantizer` must be the id of a listed quantizer whose plugin can be trained through. */
  private checkQat(id: string, quantizers: Array<PluginRef & { id: string }>): SpecError[] {
    const problem = this.qatQuantizer(id, quantizers);
    // An unknown plugin name is reported under `quantizers` already.
    return problem instanceof SpecError && problem.field === 'qat.quantizer' ? [problem] : [];
  }

  /**
   * The quantizer `qat.quantizer` (an id) names and its training transform, or the SpecError that
   * says why it cannot be trained through. The one check of it: spec validation and the worker
   * both ask here.
   */
  qatQuantizer(
    id: string,
    quantizers: Array<PluginRef & { id: string }>,
  ): { ref: PluginRef & { id: string }; trainingTransform: NonNullable<QuantizerPlugin['trainingTransform']> } | SpecError {
    const ref = quantizers.find((q) => q.id === id);
    if (!ref) {
      const ids = quantizers.map((q) => q.id);
      return new SpecError(
        'qat.quantizer',
        ids.length
          ? `'${id}' is not the id of a quantizer in this spec; use one of ${ids.join(', ')}`
          : `'${id}' names no quantizer: list it under 'quantizers' first`,
      );
    }
    const plugin = this.find('quantizer', ref.name);
    if (!plugin) return this.unknown('quantizer', ref.name);
    if (!plugin.trainingTransform) {
      const able = this.list()
        .filter((p) => p.kind === 'quantizer' && p.trainingTransform)
        .map((p) => p.name);
      return new SpecError(
        'qat.quantizer',
        `quantizer '${ref.name}' (id '${id}') has no quantization-aware training; quantizers that have it: ${able.join(', ') || 'none'}`,
      );
    }
    return { ref, trainingTransform: plugin.trainingTransform.bind(plugin) };
  }
}

function issuesToErrors(error: z.ZodError, prefix: string): SpecError[] {
  return error.issues.map((issue) => {
    const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return new SpecError(field, issue.message);
  });
}
