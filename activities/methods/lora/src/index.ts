import { definePlugin, SpecError, type MethodContext, type MethodTraining, type SpecCheckContext } from '@retain/sdk';
import { initLoraParams, loraA, loraB, loraParams, mergeLora, withLora, type LoraOptions, type TensorMap } from '@retain/engine';
import { loraConfigSchema, qloraConfigSchema, type LoraConfig, type QloraBase, type QloraConfig } from './config';
import { quantizeBase } from './base';
import { resolveTargets } from './targets';

export { DEFAULT_TARGETS, loraConfigSchema, qloraConfigSchema, type LoraConfig, type QloraConfig } from './config';
export { NF4_LEVELS, quantizedBase } from './base';
export { matchesTarget, resolveTargets } from './targets';

/** The adapters' layout on this model: the targeted weights, rank and alpha (a SpecError naming `targets` when a name matches nothing). */
export function loraOptionsOf(config: LoraConfig, ctx: Pick<MethodContext, 'model'>): LoraOptions {
  const resolved = resolveTargets(ctx.model, config.targets);
  if ('problem' in resolved) throw new SpecError('method.config.targets', resolved.problem);
  return { weights: resolved.weights, rank: config.rank, alpha: config.alpha };
}

/**
 * One task of LoRA: the trainer trains only the adapters on the model read as W + (alpha/r) A B;
 * the task starts from fresh adapters (A drawn from the seed and, with perTask 'new', the task;
 * 'shared' carries A from the previous task), on a base quantized first under QLoRA; it ends
 * merged: W + (alpha/r) A B becomes the task's weight and B is dropped (and A, unless shared).
 */
export function loraTraining(ctx: MethodContext<LoraConfig>, base?: QloraBase): MethodTraining {
  const options = loraOptionsOf(ctx.config, ctx);
  const model = withLora(ctx.model, options);
  const shared = ctx.config.perTask === 'shared';
  const inHead = new Set(model.paramsForHead(ctx.head));
  const adapters = loraParams(ctx.model, options).map((p) => p.name);
  return {
    trainable: adapters.filter((name) => inHead.has(name)),
    adapter: {
      model,
      start: (params) => {
        const fresh = initLoraParams(ctx.model, options, ctx.seed, shared ? 'shared' : ctx.taskIndex);
        // A shared A learned on earlier tasks is in the checkpoint; its B restarts at zero (fresh).
        const carried = shared ? pick(params, options.weights.map(loraA)) : {};
        return { ...params, ...(base ? quantizeBase(params, options.weights, base) : {}), ...fresh, ...carried };
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

function pick(params: TensorMap, names: string[]): TensorMap {
  return Object.fromEntries(names.filter((n) => params[n]).map((n) => [n, params[n]]));
}

/** The rules that need the model: every target exists; no LSQ steps to learn on a frozen base. */
function checkLora(config: LoraConfig, ctx: SpecCheckContext): SpecError[] {
  const errors: SpecError[] = [];
  if (ctx.model) {
    const resolved = resolveTargets(ctx.model, config.targets);
    if ('problem' in resolved) errors.push(new SpecError(`${ctx.path}.config.targets`, resolved.problem));
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
  training: (ctx: MethodContext<QloraConfig>) => loraTraining(ctx, ctx.config.base),
});
