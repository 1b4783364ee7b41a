import { definePlugin, exportOptionsOf, schemeLabel, schemeOf, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import {
  captureLayerInputs,
  deriveSeed,
  dequantize,
  fromMatrixView,
  isQuantizable,
  matrixDims,
  quantizeRtn,
  quantizeWeight,
  Rng,
  type QuantizedWeight,
  type TensorMap,
} from '@retain/engine';
import { gptqConfigSchema, type GptqConfig } from './config';
import { quantizeGptq } from './gptq';

export { gptqConfigSchema, type GptqConfig } from './config';
export { quantizeGptq, layerHessian, type GptqOptions } from './gptq';
export { cholesky, inverseFromCholesky, upperCholesky } from './linalg';

/**
 * GPTQ on every matrix and conv weight (a conv through its im2col view: the Hessian of its input
 * patches, at most MAX_CONV_ROWS of them), calibrated on activations of examples drawn from the task just
 * learned. With `sequential`, each layer sees the outputs of the layers already quantized, so it
 * also compensates their error (the reference code's order); biases stay float32.
 */
export const gptqQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'gptq',
  version: '0.1.0',
  description: 'GPTQ: column-by-column quantization with error feedback through the inverse Hessian of calibration activations.',
  configSchema: gptqConfigSchema,
  label: (config: GptqConfig) => schemeLabel('gptq', config),
  quantize: async (ctx: QuantizeContext<GptqConfig>): Promise<QuantizeOutcome> => {
    const { model, calibration, config } = ctx;
    const scheme = schemeOf(config);
    const n = Math.min(config.calibrationSize, calibration.n);
    const picked = new Rng(deriveSeed(ctx.seed, 'gptq-calibration')).permutation(calibration.n).slice(0, n);
    const x = calibration.gather(picked);

    const current: TensorMap = { ...ctx.params };
    const weights: Record<string, QuantizedWeight> = {};
    const matrices = model.params.filter((p) => isQuantizable(p.dims)).map((p) => p.name);
    const headFor = (name: string) =>
      model.paramsForHead(ctx.head).includes(name)
        ? ctx.head
        : [...Array(model.heads).keys()].find((h) => model.paramsForHead(h).includes(name))!;
    const fp32Inputs = new Map<number, Record<string, Float32Array>>();
    for (const name of matrices) {
      const head = headFor(name);
      let inputs: Record<string, Float32Array> | undefined;
      if (config.sequential) inputs = await captureLayerInputs(model, head, current, x, n, { convPatches: true });
      else {
        if (!fp32Inputs.has(head)) fp32Inputs.set(head, await captureLayerInputs(model, head, ctx.params, x, n, { convPatches: true }));
        inputs = fp32Inputs.get(head);
      }
      const layerInput = inputs![name];
      const dims = ctx.params[name].dims;
      if (!layerInput && dims.length === 4)
        throw new Error(`conv weight '${name}' is a grouped convolution (groups > 1): GPTQ has no im2col view of it; use rtn or hqq`);
      // A matrix no MatMul multiplies (an embedding table) has no layer output to reconstruct: RTN.
      // A conv kernel is quantized as its im2col view [C_in * kh * kw, C_out] on the conv's patches.
      const inputsPerRow = matrixDims(name, dims)[0];
      weights[name] = await quantizeWeight(name, ctx.params[name], (m) =>
        layerInput ? quantizeGptq(m, layerInput, layerInput.length / inputsPerRow, scheme, config) : quantizeRtn(m, scheme),
      );
      current[name] = fromMatrixView(weights[name], dequantize(weights[name]));
    }
    return { weights, export: exportOptionsOf(config) };
  },
});
