import { definePlugin, exportOptionsOf, schemeLabel, schemeOf, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import { isQuantizable, quantizeRtn, quantizeWeight, type QuantizedWeight } from '@retain/engine';
import { rtnConfigSchema, type RtnConfig } from './config';
import { quantizeOnSteps, rtnTrainingTransform } from './qat';

export { rtnConfigSchema, type RtnConfig } from './config';
export { quantizePerChannel } from './rtn';
export { quantizeOnSteps, rtnTrainingTransform } from './qat';

/** Weight-only round-to-nearest quantization of every matrix and conv weight (per output channel); biases stay float32. */
export const rtnQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'rtn',
  version: '0.2.0',
  description: 'Round-to-nearest on min-max grids: int8/int4, per-tensor, per-channel or block-wise, symmetric or asymmetric.',
  configSchema: rtnConfigSchema,
  label: (config: RtnConfig) => schemeLabel('rtn', config),
  quantize: async (ctx: QuantizeContext<RtnConfig>): Promise<QuantizeOutcome> => {
    const scheme = schemeOf(ctx.config);
    const weights: Record<string, QuantizedWeight> = {};
    for (const spec of ctx.model.params) {
      if (!isQuantizable(spec.dims)) continue;
      const learned = ctx.stepSizes?.[spec.name]; // steps trained by QAT with LSQ through this quantizer
      weights[spec.name] = learned
        ? quantizeOnSteps(
            ctx.params[spec.name],
            learned,
            ctx.config.bits,
            ctx.config.granularity === 'block' ? ctx.config.blockSize : undefined,
          )
        : await quantizeWeight(spec.name, ctx.params[spec.name], (m) => quantizeRtn(m, scheme));
    }
    return { weights, export: exportOptionsOf(ctx.config) };
  },
  trainingTransform: ({ config, model }) => rtnTrainingTransform(config, model),
});
