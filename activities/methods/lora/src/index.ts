import { definePlugin, SpecError, type MethodContext, type MethodTraining, type SpecCheckContext } from '@retain/sdk';
import {
  initLoraParams,
  isLoraParam,
  loraA,
  loraB,
  loraParams,
  mergeLora,
  withFrozenCodes,
  withLora,
  type LoraOptions,
  type Model,
  type TensorMap,
} from '@retain/engine';
import type { ScenarioInfo } from '@retain/data';
import { loraConfigSchema, qloraConfigSchema, type LoraConfig, type QloraBase, type QloraConfig } from './config';
import { baseOfQuantized, quantizeBase, type QuantizedBase } from './base';
import { resolveTargets } from './targets';

export { DEFAULT_TARGETS, loraConfigSchema, qloraConfigSchema, type LoraConfig, type QloraConfig } from './config';
export { frozenBase, NF4_LEVELS, quantizedBase } from './base';
export { matchesTarget, resolveTargets } from './targets';

/** The adapters' layout on this model: the targeted weights, rank and alpha (a SpecError naming `targets` when a name matches nothing). */
export function loraOptionsOf(config: LoraConfig, ctx: Pick<MethodContext, 'model'>): LoraOptions {
  const resolved = resolveTargets(ctx.model, config.targets);
  if ('problem' in resolved) throw new SpecError('method.config.targets', resolved.problem);
  return { weights: resolved.weights, rank: config.rank, alpha: config.alpha };
}

/**
 * The kept adapters' layout (merge: false): one adapter per weight ('shared'), or one per task
 * labelled by its index ('new'), head t reading only adapter t when the scenario has a head per task.
 */
export function keptOptionsOf(config: LoraConfig, model: Model, scenario: Pick<ScenarioInfo, 'tasks' | 'heads'>): LoraOptions {
  const options = loraOptionsOf(config, { model });
  if (config.perTask === 'shared') return options;
  // Tasks before fromTask train the base and have no adapter.
  const labels = Array.from({ length: Math.max(0, scenario.tasks - config.fromTask) }, (_, k) => String(config.fromTask + k));
  const forHead = (head: number) => (head >= config.fromTask ? [String(head)] : []);
  return { ...options, labels, ...(scenario.heads > 1 ? { labelsForHead: forHead } : {}) };
}

/** A task before `fromTask`: every parameter of the model plugin's model trains, as naive fine-tuning; kept adapters stay as they are (B = 0). */
function fullTraining(ctx: MethodContext<LoraConfig>): MethodTraining {
  return ctx.config.merge ? {} : { trainable: ctx.model.paramsForHead(ctx.head).filter((n) => !isLoraParam(n)) };
}

/**
 * One task with kept adapters (merge: false): the run's model already has them (transformModel),
 * so the task trains its adapter ('new': this task's; 'shared': the one) and nothing else. Under
 * QLoRA the base is replaced by its quantization at the start of each task (after the first,
 * already on its grid: RTN and NF4 reproduce their own output's grid) and never changes.
 */
function keptTraining(ctx: MethodContext<LoraConfig>, base?: QloraBase): MethodTraining {
  const options = loraOptionsOf(ctx.config, ctx);
  const label = ctx.config.perTask === 'new' ? String(ctx.taskIndex) : undefined;
  const inHead = new Set(ctx.model.paramsForHead(ctx.head));
  const trainable = options.weights.flatMap((w) => [loraA(w, label), loraB(w, label)]).filter((n) => inHead.has(n));
  if (!base) return { trainable };
  return {
    trainable,
    adapter: {
      model: ctx.model,
      start: async (params) => {
        const quantized = await baseOf(ctx, base, options.weights, params);
        return { params: { ...params, ...quantized.values }, model: withFrozenCodes(ctx.model, quantized.frozen) };
      },
      finish: (trained) => trained,
    },
  };
}

/**
 * One task of LoRA: the trainer trains only the adapters on the model read as W + (alpha/r) A B;
 * the task starts from fresh adapters (A drawn from the seed and, with perTask 'new', the task;
 * 'shared' carries A from the previous task), on a base quantized first under QLoRA; it ends
 * merged: W + (alpha/r) A B becomes the task's weight and B is dropped (and A, unless shared).
 */
export function loraTraining(ctx: MethodContext<LoraConfig>, base?: QloraBase): MethodTraining {
  if (ctx.taskIndex < ctx.config.fromTask) return fullTraining(ctx);
  if (!ctx.config.merge) return keptTraining(ctx, base);
  const options = loraOptionsOf(ctx.config, ctx);
  const model = withLora(ctx.model, options);
  const shared = ctx.config.perTask === 'shared';
  const inHead = new Set(model.paramsForHead(ctx.head));
  const adapters = loraParams(ctx.model, options).map((p) => p.name);
  return {
    trainable: adapters.filter((name) => inHead.has(name)),
    adapter: {
      model,
      start: async (params) => {
        const fresh = initLoraParams(ctx.model, options, ctx.seed, shared ? 'shared' : ctx.taskIndex);
        // A shared A learned on earlier tasks is in the checkpoint; its B restarts at zero (fresh).
        const carried = shared
          ? pick(
              params,
              options.weights.map((w) => loraA(w)),
            )
          : {};
        if (!base) return { ...params, ...fresh, ...carried };
        const quantized = await baseOf(ctx, base, options.weights, params);
        return { params: { ...params, ...quantized.values, ...fresh, ...carried }, model: withFrozenCodes(model, quantized.frozen) };
      },
      finish: (trained) => {
        const out: TensorMap = { ...trained, ...mergeLora(trained, options) };
        for (const weight of options.weights) {
          delete out[loraB(weight)];
          if (!shared) delete out[loraA(weight)];
        }
        return out;
      },
    },
  };
}

/**
 * QLoRA's base for the targeted weights: their codes on the base grid, or the spec quantizer's
 * `base.quantizer` (GPTQ, HQQ) when it names one, with the float32 values they stand for. The
 * task trains on the codes (`withFrozenCodes`: the step graph holds them and dequantizes them as
 * it reads them); the values are the base weights in the task's params, which the merge reads and
 * the checkpoint keeps.
 */
async function baseOf(ctx: MethodContext<LoraConfig>, base: QloraBase, weights: string[], params: TensorMap): Promise<QuantizedBase> {
  if (!base.quantizer) return quantizeBase(params, weights, base);
  if (!ctx.quantizeWith) throw new Error(`base.quantizer: quantizer '${base.quantizer}' can quantize the base only inside a run`);
  const quantized = await ctx.quantizeWith(base.quantizer, params);
  for (const w of weights)
    if (!quantized[w])
      throw new SpecError(
        'method.config.base.quantizer',
        `quantizer '${base.quantizer}' left '${w}' unquantized, so it cannot be the base of that weight`,
      );
  return baseOfQuantized(Object.fromEntries(weights.map((w) => [w, quantized[w]!])));
}

function pick(params: TensorMap, names: string[]): TensorMap {
  return Object.fromEntries(names.filter((n) => params[n]).map((n) => [n, params[n]]));
}

/** The run's model: with kept adapters (merge: false) the model with them; merged ones live only in training. */
function transformLora(config: LoraConfig, model: Model, scenario: ScenarioInfo): Model {
  return config.merge ? model : withLora(model, keptOptionsOf(config, model, scenario));
}

/**
 * The rules that need the model: every target exists (with kept adapters transformModel checks
 * them, and ctx.model is absent when it could not); no LSQ steps to learn on a frozen base; no
 * activation quantization (w8a8) of a weight read through kept adapters.
 */
function checkLora(config: LoraConfig, ctx: SpecCheckContext): SpecError[] {
  const errors: SpecError[] = [];
  if (!config.merge)
    ctx.spec.quantizers.forEach((q, i) => {
      if (q.name === 'w8a8')
        errors.push(
          new SpecError(
            `quantizers.${i}.name`,
            `w8a8 quantizes the input of the MatMul that reads each weight, but with ${ctx.path}.config.merge: false the model reads W + s A B; set merge: true or use a weight-only quantizer`,
          ),
        );
    });
  if (ctx.scenario && config.fromTask >= ctx.scenario.tasks)
    errors.push(
      new SpecError(
        `${ctx.path}.config.fromTask`,
        `is ${config.fromTask} but the scenario has ${ctx.scenario.tasks} tasks (0..${ctx.scenario.tasks - 1}), so no task would train adapters; use a task index below ${ctx.scenario.tasks}`,
      ),
    );
  if (ctx.model) {
    const resolved = resolveTargets(ctx.model, config.targets);
    if ('problem' in resolved) errors.push(new SpecError(`${ctx.path}.config.targets`, resolved.problem));
  }
  const baseQuantizer = (config as Partial<QloraConfig>).base?.quantizer;
  if (baseQuantizer !== undefined && !ctx.spec.quantizers.some((q) => q.id === baseQuantizer)) {
    const ids = ctx.spec.quantizers.map((q) => q.id);
    errors.push(
      new SpecError(
        `${ctx.path}.config.base.quantizer`,
        ids.length
          ? `'${baseQuantizer}' is not the id of a quantizer in this spec; use one of ${ids.join(', ')}`
          : `'${baseQuantizer}' names no quantizer: list it under 'quantizers' first`,
      ),
    );
  }
  if (ctx.spec.qat?.lsq)
    errors.push(
      new SpecError(
        'qat.lsq',
        `method ${ctx.spec.method.name} trains only its adapters, so learned quantization steps would never train; set qat.lsq: false (the base is read through the fixed min-max grid)`,
      ),
    );
  return errors;
}

/** LoRA: low-rank adapters on a frozen base, merged after each task. */
export const loraMethod = definePlugin({
  kind: 'method',
  name: 'lora',
  version: '0.1.0',
  description: 'LoRA (Hu et al. 2021): rank-r adapters on the chosen projections of a frozen base, merged into it after each task.',
  configSchema: loraConfigSchema,
  checkSpec: (config: LoraConfig, ctx: SpecCheckContext) => checkLora(config, ctx),
  transformModel: (config: LoraConfig, model: Model, scenario: ScenarioInfo) => transformLora(config, model, scenario),
  training: (ctx: MethodContext<LoraConfig>) => loraTraining(ctx),
});

/** QLoRA: LoRA on a base quantized block-wise (int4 RTN or NF4) and frozen. */
export const qloraMethod = definePlugin({
  kind: 'method',
  name: 'qlora',
  version: '0.1.0',
  description:
    'QLoRA (Dettmers et al. 2023): LoRA adapters trained in fp32 on a frozen base quantized block-wise (int4 RTN or NF4), merged after each task.',
  configSchema: qloraConfigSchema,
  checkSpec: (config: QloraConfig, ctx: SpecCheckContext) => checkLora(config, ctx),
  transformModel: (config: QloraConfig, model: Model, scenario: ScenarioInfo) => transformLora(config, model, scenario),
  training: (ctx: MethodContext<QloraConfig>) => loraTraining(ctx, ctx.config.base),
});
