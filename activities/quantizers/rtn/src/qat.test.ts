import {
  buildEvalGraph,
  buildInferenceModel,
  buildStepGraph,
  initOptimizerState,
  initParams,
  initialStepSizes,
  InferenceSession,
  mlp,
  Rng,
  stepSizeName,
  TrainSession,
  withFakeQuantization,
  type FakeQuantPlan,
  type TensorMap,
} from '@retain/engine';
import type { QuantizeContext } from '@retain/sdk';
import { rtnConfigSchema } from './config';
import { rtnQuantizer } from './index';

// QAT's forward equals the exported quantized model's forward: train a few steps through RTN's
// fake quantizer, then export with RTN (using the learned steps under LSQ) and compare logits.
describe('rtn quantization-aware training', () => {
  // 40 inputs: with blocks of 16 the first layer has a partial last block (16 + 16 + 8 rows).
  const features = 40;
  const model = mlp({ inputSize: features, hidden: [48], heads: 1, classesPerHead: 4 });
  const batch = 32;
  const rng = new Rng(5);
  const x = Float32Array.from({ length: batch * features }, () => rng.normal());
  const y = Int32Array.from({ length: batch }, (_, i) => (x[i * features] > 0 ? 1 : 0) + (x[i * features + 1] > 0 ? 2 : 0));

  async function trainQat(plan: FakeQuantPlan, steps: number): Promise<TensorMap> {
    const qat = withFakeQuantization(model, plan);
    const start = initParams(model, 1);
    const params = { ...start, ...initialStepSizes(plan, start) };
    const optimizer = { name: 'adam' as const, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    const step = buildStepGraph({ model: qat, head: 0, optimizer });
    const session = await TrainSession.create(step, { ...params, ...initOptimizerState(optimizer, qat.params) });
    try {
      for (let s = 0; s < steps; s++) await session.step(x, y, batch, 0.02);
      return { ...params, ...(await session.read()) };
    } finally {
      await session.close();
    }
  }

  async function logitsOf(bytes: Uint8Array, feeds: TensorMap = {}): Promise<Float32Array> {
    const session = await InferenceSession.create(bytes, feeds);
    try {
      return (await session.run(x, batch)).logits;
    } finally {
      await session.close();
    }
  }

  test.each([
    [4, false, 'per-channel'],
    [4, true, 'per-channel'],
    [8, true, 'per-channel'],
    [4, false, 'block'],
    [4, true, 'block'],
    [8, true, 'block'],
  ] as const)(
    'int%i, lsq %s, %s: after 15 QAT steps the exported RTN model gives the QAT forward its logits',
    async (bits, lsq, granularity) => {
      const config = rtnConfigSchema.parse({ bits, granularity, blockSize: 16 });
      const plan = { weights: rtnQuantizer.trainingTransform!({ config, model }), lsq };
      expect(Object.keys(plan.weights).sort()).toEqual(
        model.params
          .filter((p) => p.dims.length === 2)
          .map((p) => p.name)
          .sort(),
      );
      const trained = await trainQat(plan, 15);
      const qatForward = await logitsOf(buildEvalGraph(withFakeQuantization(model, plan), 0), trained);
      const stepSizes = lsq ? Object.fromEntries(Object.keys(plan.weights).map((n) => [n, trained[stepSizeName(n)]])) : undefined;
      if (lsq)
        for (const n of Object.keys(plan.weights)) expect(trained[stepSizeName(n)].dims.length).toBe(granularity === 'block' ? 2 : 1);
      const { weights } = await rtnQuantizer.quantize({
        config,
        seed: 0,
        model,
        params: trained,
        head: 0,
        calibration: undefined as unknown as QuantizeContext['calibration'], // RTN reads no data
        stepSizes,
      });
      for (const w of Object.values(weights)) expect(w.granularity).toBe(granularity);
      const exported = await logitsOf(buildInferenceModel(model, 0, trained, weights));
      const fp32 = await logitsOf(buildInferenceModel(model, 0, trained));
      const scale = Math.max(...Array.from(qatForward, Math.abs));
      const gap = Math.max(...Array.from(qatForward, (v, i) => Math.abs(v - exported[i])));
      // Same codes and scales, so equal up to float32 summation order (measured: 0 in every case).
      expect(gap).toBeLessThanOrEqual(1e-6 * scale);
      // ...and the comparison means something: quantization moved the logits away from fp32.
      const fromFp32 = Math.max(...Array.from(qatForward, (v, i) => Math.abs(v - fp32[i])));
      expect(fromFp32).toBeGreaterThan(100 * Math.max(gap, 1e-7 * scale));
      if (lsq) {
        // The steps trained: LSQ moved them away from their initial values.
        const init = initialStepSizes(plan, initParams(model, 1));
        const moved = Object.keys(init).some((n) => init[n].data.some((v, i) => Math.abs(v - trained[n].data[i]) > 1e-4 * v));
        expect(moved).toBe(true);
      }
    },
  );
});
