import { definePlugin, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import type { QuantizedWeight } from '@retain/engine';
import { rtnConfigSchema, type RtnConfig } from './config';
import { quantizePerChannel } from './rtn';
import { quantizeOnSteps, rtnTrainingTransform } from './qat';

export { rtnConfigSchema, type RtnConfig } from './config';
export { quantizePerChannel, dequantize } from './rtn';
export { quantizeOnSteps, rtnTrainingTransform } from './qat';

/** Weight-only round-to-nearest quantization of every matrix weight; biases stay float32. */
export const rtnQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'rtn',
  version: '0.1.0',
  description: 'Symmetric round-to-nearest, int8 or int4, one scale per output channel, weights only.',
  configSchema: rtnConfigSchema,
  label: (config: RtnConfig) => `rtn-int${config.bits}`,
  quantize: async (ctx: QuantizeContext<RtnConfig>): Promise<QuantizeOutcome> => {
    const weights: Record<string, QuantizedWeight> = {};
    for (const spec of ctx.model.params) {
      if (spec.dims.length !== 2) continue;
      const learned = ctx.stepSizes?.[spec.name]; // steps trained by QAT with LSQ through this quantizer
      weights[spec.name] = learned
        ? quantizeOnSteps(ctx.params[spec.name], learned, ctx.config.bits)
        : quantizePerChannel(ctx.params[spec.name], ctx.config.bits);
    }
    return { weights };
  },
  trainingTransform: ({ config, model }) => rtnTrainingTransform(config, model),
});
