import { checkQuantizer } from '@retain/sdk/testing';
import { buildInferenceModel, cnn, dequantize, fromMatrixView, InferenceSession, initParams, Rng } from '@retain/engine';
import type { SampleSet } from '@retain/data';
import { mixedPrecisionConfigSchema } from './config';
import { mixedPrecisionQuantizer, quantizeMixed } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['defaults (int4 budget, 2/3/4/8, proxy importance on the calibration set)', {}],
    ['budget 3 bits, blocks of 16', { budgetBits: 3, blockSize: 16 }],
  ])('mixed-precision %s passes the quantizer checks and the export round trip', async (_label, config) => {
    const report = await checkQuantizer(mixedPrecisionQuantizer, {
      config,
      valid: [{ choices: [2, 8], budgetBits: 5, importance: 'proxy', proxySamples: 32 }],
    });
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
  });

  it('conv kernels (LeNet on 28 x 28): bands along the im2col rows, the kernel rebuilt from bit planes in the export', async () => {
    const model = cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 10, heads: 1 });
    const report = await checkQuantizer(mixedPrecisionQuantizer, { config: { budgetBits: 3, blockSize: 16 }, model });
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
    // ...and the kernels really are mixed there: at 3 bits a weight they get more than one width.
    const params = initParams(model, 1);
    const plan = await quantizeMixed({
      config: mixedPrecisionConfigSchema.parse({ budgetBits: 3, blockSize: 16, importance: 'fisher' }),
      seed: 0,
      model,
      params,
      head: 0,
      calibration: undefined as unknown as SampleSet, // the Fisher is given: no data read
      methodFisher: async () =>
        Object.fromEntries(
          model.params.map((p) => [p.name, { dims: [...p.dims], data: Float32Array.from(params[p.name].data, (_, i) => 1 + (i % 7)) }]),
        ),
    });
    const kernels = model.params.filter((p) => p.dims.length === 4).map((p) => plan.weights[p.name]);
    expect(kernels.some((k) => k.blockBits && new Set(k.blockBits).size > 1 && k.shape?.length === 4)).toBe(true);
    // The exported model computes the float model of the dequantized weights.
    const dequantized = { ...params };
    for (const [name, w] of Object.entries(plan.weights)) dequantized[name] = fromMatrixView(w, dequantize(w));
    const rng = new Rng(2);
    const x = Float32Array.from({ length: 4 * 28 * 28 }, () => rng.normal());
    const logits = async (bytes: Uint8Array) => {
      const session = await InferenceSession.create(bytes);
      try {
        return (await session.run(x, 4)).logits;
      } finally {
        await session.close();
      }
    };
    const [exported, reference] = [
      await logits(buildInferenceModel(model, 0, params, plan.weights)),
      await logits(buildInferenceModel(model, 0, dequantized)),
    ];
    const scale = Math.max(...Array.from(reference, Math.abs));
    expect(Math.max(...Array.from(exported, (v, i) => Math.abs(v - reference[i])))).toBeLessThan(1e-5 * scale);
  });
});
