import { definePlugin, exportOptionsOf, schemeLabel, schemeOf, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import {
  calibrateActivation,
  captureLayerInputs,
  deriveSeed,
  quantizeRtn,
  Rng,
  type ActivationQuant,
  type QuantizedWeight,
} from '@retain/engine';
import { w8a8ConfigSchema, type W8a8Config } from './config';

export { w8a8ConfigSchema, type W8a8Config } from './config';

/**
 * Static quantization of weights and activations: RTN weights, and for every MatMul input one
 * 8-bit scale and zero point from calibration activations of the fp32 model. The export puts
 * QuantizeLinear + DequantizeLinear on each MatMul input, so onnxruntime computes in integers.
 */
export const w8a8Quantizer = definePlugin({
  kind: 'quantizer',
  name: 'w8a8',
  version: '0.1.0',
  description:
    "Static W8A8: int8 weights and int8 activations calibrated (min-max or percentile) on the task's data, QDQ around every MatMul.",
  configSchema: w8a8ConfigSchema,
  label: (config: W8a8Config) =>
    schemeLabel('w8a8', config).replace('w8a8-int8', 'w8a8') + (config.calibration === 'percentile' ? `-p${config.percentile}` : ''),
  quantize: async (ctx: QuantizeContext<W8a8Config>): Promise<QuantizeOutcome> => {
    const { model, calibration, config } = ctx;
    const n = Math.min(config.calibrationSize, calibration.n);
    const picked = new Rng(deriveSeed(ctx.seed, 'w8a8-calibration')).permutation(calibration.n).slice(0, n);
    const x = calibration.gather(picked);
    const scheme = schemeOf(config);
    const weights: Record<string, QuantizedWeight> = {};
    const activations: Record<string, ActivationQuant> = {};
    for (let head = 0; head < model.heads; head++) {
      const inputs = await captureLayerInputs(model, head, ctx.params, x, n);
      for (const [name, values] of Object.entries(inputs)) {
        if (activations[name]) continue; // trunk layers: the same inputs through every head
        activations[name] = calibrateActivation(values, config.calibration, config.percentile, config.signedActivations);
        weights[name] = quantizeRtn(ctx.params[name], scheme);
      }
    }
    return { weights, export: { ...exportOptionsOf(config), activations } };
  },
});
