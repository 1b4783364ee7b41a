import { definePlugin, exportOptionsOf, schemeLabel, schemeOf, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import { isQuantizable, quantizeWeight, type QuantizedWeight } from '@retain/engine';
import { hqqConfigSchema, type HqqConfig } from './config';
import { quantizeHqq } from './hqq';

export { hqqConfigSchema, type HqqConfig } from './config';
export { quantizeHqq, shrinkLp, type HqqOptions } from './hqq';

/** Half-quadratic quantization of every matrix and conv weight; biases stay float32. No calibration data. */
export const hqqQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'hqq',
  version: '0.1.0',
  description:
    'Half-quadratic quantization (no calibration data): zero points optimized for a sparsity-promoting norm of the weight error.',
  configSchema: hqqConfigSchema,
  label: (config: HqqConfig) => schemeLabel('hqq', { ...config, symmetric: true }) + (config.symmetric ? '-sym' : ''),
  quantize: async (ctx: QuantizeContext<HqqConfig>): Promise<QuantizeOutcome> => {
    const scheme = schemeOf(ctx.config);
    const weights: Record<string, QuantizedWeight> = {};
    for (const spec of ctx.model.params) {
      if (!isQuantizable(spec.dims)) continue;
      weights[spec.name] = await quantizeWeight(spec.name, ctx.params[spec.name], (m) => quantizeHqq(m, scheme, ctx.config));
    }
    return { weights, export: exportOptionsOf(ctx.config) };
  },
});
