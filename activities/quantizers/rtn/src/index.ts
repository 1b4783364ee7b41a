import { definePlugin, exportOptionsOf, schemeLabel, schemeOf, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import { quantizeRtn, type QuantizedWeight } from '@retain/engine';
import { rtnConfigSchema, type RtnConfig } from './config';
import { quantizeOnSteps, rtnTrainingTransform } from './qat';

export { rtnConfigSchema, type RtnConfig } from './config';
export { quantizePerChannel } from './rtn';
export { quantizeOnSteps, rtnTrainingTransform } from './qat';

/** Weight-only round-to-nearest quantization of every matrix weight; biases stay float32. */
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
      if (spec.dims.length !== 2) continue;
      const learned = ctx.stepSizes?.[spec.name]; // steps trained by QAT with LSQ through this quantizer
      weights[spec.name] = learned
        ? quantizeOnSteps(ctx.params[spec.name], learned, ctx.config.bits)
        : quantizeRtn(ctx.params[spec.name], scheme);
    }
    return { weights, export: exportOptionsOf(ctx.config) };
  },
  trainingTransform: ({ config, model }) => rtnTrainingTransform(config, model),
});
