import { definePlugin, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import type { QuantizedWeight } from '@retain/engine';
import { rtnConfigSchema, type RtnConfig } from './config';
import { quantizePerChannel } from './rtn';

export { rtnConfigSchema, type RtnConfig } from './config';
export { quantizePerChannel, dequantize } from './rtn';

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
      weights[spec.name] = quantizePerChannel(ctx.params[spec.name], ctx.config.bits);
    }
    return { weights };
  },
});
