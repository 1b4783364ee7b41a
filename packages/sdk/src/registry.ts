import type { z } from 'zod';
import type { ScenarioInfo, ScenarioOutline } from '@retain/data';
import type { Model } from '@retain/engine';
import { SpecError, SpecErrors } from './errors';
import { activationsFromShapes, estimateRunMemory, evaluationBatchLimit, formatBytes, memoryProblem, type MemoryEstimate } from './memory';
import { experimentSpecSchema, MAX_SPEC_BYTES, type ExperimentSpec, type PluginRef } from './spec';
import type { Plugin, PluginKind, PluginOfKind, QuantizerPlugin, SpecCheckContext } from './plugin';
import { knownKeys } from './schema-keys';
import { targetsMismatch } from './targets';

/** What validation may check beyond the spec itself. */
export interface ValidateOptions {
  /**
   * This machine's memory in bytes (the CLI passes os.totalmem()): a spec whose estimated peak
   * (memory.ts) exceeds it is refused. Absent: no memory bound.
   */
  memoryBytes?: number;
}

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
  validateSpec(raw: unknown, options: ValidateOptions = {}): ExperimentSpec {
    const parsed = experimentSpecSchema.safeParse(raw);
    if (!parsed.success) throw new SpecErrors(issuesToErrors(parsed.error, '', experimentSpecSchema));
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
        errors.push(...issuesToErrors(config.error, `${path}.config`, plugin.configSchema as z.ZodType));
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
    const validated: ExperimentSpec = { ...spec, benchmark, model, trainer, method, evaluators, quantizers };
    // Rules across fields and plugins need every config valid first; they read no data.
    const crossErrors = this.checkAcross(validated, options);
    if (crossErrors.length > 0) throw new SpecErrors(crossErrors);
    return validated;
  }

  /**
   * Every check that needs more than one field and no data: the benchmark's sizes against its
   * dataset, the model built on the scenario's shape, each plugin's `checkSpec`, quantization-aware
   * training through the chosen quantizer, the spec's size, and (with `memoryBytes`) the memory bound.
   */
  private checkAcross(spec: ExperimentSpec, options: ValidateOptions): SpecError[] {
    const errors: SpecError[] = [];
    const size = Buffer.byteLength(JSON.stringify(spec));
    if (size > MAX_SPEC_BYTES) {
      const largest = Object.entries(spec).reduce((a, b) => (jsonBytes(b[1]) > jsonBytes(a[1]) ? b : a));
      errors.push(
        new SpecError(
          largest[0],
          `the spec is ${formatBytes(size)} as JSON (this field ${formatBytes(jsonBytes(largest[1]))}); it travels in the run's Temporal payloads, ` +
            `which the server caps at 2 MB (its blob size limit) with the run's state beside it, so a spec may be at most ${formatBytes(MAX_SPEC_BYTES)}`,
        ),
      );
    }
    const benchmarkPlugin = this.get('benchmark', spec.benchmark.name);
    let scenario: ScenarioOutline | undefined;
    if (benchmarkPlugin.outline) {
      const { outline, problems } = benchmarkPlugin.outline(spec.benchmark.config);
      errors.push(...problems.map((p) => new SpecError(`benchmark.config.${p.field}`, p.problem)));
      scenario = outline;
    }
    const modelPlugin = this.get('model', spec.model.name);
    let plain: Model | undefined;
    let model: Model | undefined;
    if (scenario) {
      try {
        plain = modelPlugin.build(spec.model.config, scenario);
        const mismatch = targetsMismatch(spec, plain, scenario);
        if (mismatch) errors.push(mismatch);
      } catch (err) {
        errors.push(err instanceof SpecError ? err : new SpecError('model', (err as Error).message));
      }
      try {
        model = plain && this.methodModel(spec, plain, scenario);
      } catch (err) {
        errors.push(err instanceof SpecError ? err : new SpecError('method', (err as Error).message));
      }
    }
    const ctx = (path: string): SpecCheckContext => ({ path, spec, scenario, model });
    const refs: Array<[PluginKind, PluginRef, string]> = [
      ['benchmark', spec.benchmark, 'benchmark'],
      ['model', spec.model, 'model'],
      ['trainer', spec.trainer, 'trainer'],
      ['method', spec.method, 'method'],
      ...spec.quantizers.map((q, i): [PluginKind, PluginRef, string] => ['quantizer', q, `quantizers.${i}`]),
      ...spec.evaluators.map((e, i): [PluginKind, PluginRef, string] => ['evaluator', e, `evaluators.${i}`]),
    ];
    for (const [kind, ref, path] of refs) errors.push(...(this.get(kind, ref.name).checkSpec?.(ref.config, ctx(path)) ?? []));
    if (spec.qat && plain) errors.push(...this.checkQatTransform(spec, plain));
    if (options.memoryBytes !== undefined && scenario && model && errors.length === 0) {
      const problem = memoryProblem(this.estimateMemory(spec, scenario, model), options.memoryBytes);
      if (problem) errors.push(new SpecError(problem.field, problem.problem));
    }
    return errors;
  }

  /**
   * The run's model: the model plugin's, through the method's `transformModel` when it has one.
   * The one place a run's model is built (validation and every activity).
   */
  buildModel(spec: ExperimentSpec, scenario: ScenarioInfo): Model {
    return this.methodModel(spec, this.get('model', spec.model.name).build(spec.model.config, scenario), scenario);
  }

  /** `model` through the spec's method's `transformModel`, or as it is. */
  methodModel(spec: ExperimentSpec, model: Model, scenario: ScenarioInfo): Model {
    const method = this.get('method', spec.method.name);
    return method.transformModel ? method.transformModel(spec.method.config, model, scenario) : model;
  }

  /** The quantizer's training transform on the model: a configuration it cannot train through is refused now, not at task 0. */
  private checkQatTransform(spec: ExperimentSpec, model: Model): SpecError[] {
    const found = this.qatQuantizer(spec.qat!.quantizer, spec.quantizers);
    if (found instanceof SpecError) return [];
    const index = spec.quantizers.indexOf(found.ref);
    try {
      found.trainingTransform({ config: found.ref.config, model });
      return [];
    } catch (err) {
      // Transforms start their message with the setting at fault ("symmetric: ...").
      const message = (err as Error).message;
      const setting = /^(\w+): /.exec(message)?.[1];
      const field = setting && setting in found.ref.config ? `quantizers.${index}.config.${setting}` : `quantizers.${index}.config`;
      return [
        new SpecError(
          field,
          `${setting && field.endsWith(setting) ? message.slice(setting.length + 2) : message} (qat.quantizer trains through it)`,
        ),
      ];
    }
  }

  /**
   * The run's estimated peak memory (memory.ts), for a validated spec whose benchmark can outline
   * its scenario; undefined otherwise. `retain validate` prints it; validation refuses above the
   * machine's memory.
   */
  memoryEstimate(spec: ExperimentSpec): MemoryEstimate | undefined {
    const scenario = this.find('benchmark', spec.benchmark.name)?.outline?.(spec.benchmark.config).outline;
    if (!scenario) return undefined;
    try {
      return this.estimateMemory(spec, scenario, this.buildModel(spec, scenario));
    } catch {
      return undefined;
    }
  }

  /**
   * The most examples one evaluation call of this spec's model may pass (memory.ts,
   * EVALUATION_CALL_BYTES): the worker splits an evaluator's larger batch into calls of this many.
   */
  evaluationBatchLimit(spec: ExperimentSpec, scenario: ScenarioInfo, model: Model): number {
    const activations = this.get('model', spec.model.name).activations?.(spec.model.config, scenario) ?? activationsFromShapes(model);
    return evaluationBatchLimit(
      activations.evaluate,
      scenario.inputDims.reduce((a, b) => a * b, 1),
    );
  }

  private estimateMemory(spec: ExperimentSpec, scenario: ScenarioOutline, model: Model): MemoryEstimate {
    const modelPlugin = this.get('model', spec.model.name);
    const trainer = this.get('trainer', spec.trainer.name).memoryShape?.(spec.trainer.config) ?? {
      batchSize: 128,
      stepsPerRun: 1,
      optimizerSlots: 2,
    };
    const params = model.params.reduce((n, p) => n + p.dims.reduce((a, b) => a * b, 1), 0);
    const inputSize = scenario.inputDims.reduce((a, b) => a * b, 1);
    const methodStateFloats =
      this.get('method', spec.method.name).stateFloats?.(spec.method.config, {
        params,
        inputSize,
        tasks: scenario.tasks,
        targetsPerSample: scenario.targetsPerSample ?? 1,
      }) ?? 0;
    const batches = spec.evaluators.map((e) => this.get('evaluator', e.name).batchSize?.(e.config) ?? 1000);
    const largest = batches.indexOf(Math.max(...batches));
    return estimateRunMemory(
      {
        model,
        scenario,
        activations: modelPlugin.activations?.(spec.model.config, scenario) ?? activationsFromShapes(model),
        trainer,
        methodStateFloats,
        evaluationBatch: batches[largest] ?? 1000,
      },
      { evaluator: largest >= 0 ? `evaluators.${largest}.config.batchSize` : 'evaluators' },
    );
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

function issuesToErrors(error: z.ZodError, prefix: string, schema: z.ZodType): SpecError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    const field = [prefix, ...path].filter(Boolean).join('.');
    if (issue.code !== 'unrecognized_keys') return [new SpecError(field, issue.message)];
    // One error per unknown key, at the key's own path, with the keys that are allowed there.
    const known = knownKeys(schema, path);
    return issue.keys.map(
      (key) =>
        new SpecError(
          [field, key].filter(Boolean).join('.'),
          `unknown field; ${known.length ? `the fields here are ${known.join(', ')}` : 'remove it or check its spelling'}`,
        ),
    );
  });
}

function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}
