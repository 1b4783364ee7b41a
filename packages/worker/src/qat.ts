import { SpecError, type ExperimentSpec, type PluginRegistry } from '@retain/sdk';
import { initialStepSizes, stepSizeName, withFakeQuantization, type FakeQuantPlan, type Model, type TensorMap } from '@retain/engine';

/**
 * Quantization-aware training (spec `qat`): the plan of the quantizer it names, or undefined when
 * the spec trains in plain fp32. A configuration the quantizer cannot train through is a SpecError.
 */
export function qatPlanOf(spec: ExperimentSpec, registry: PluginRegistry, model: Model): FakeQuantPlan | undefined {
  if (!spec.qat) return undefined;
  const qat = registry.qatQuantizer(spec.qat.quantizer, spec.quantizers);
  if (qat instanceof SpecError) throw qat;
  const { ref, trainingTransform } = qat;
  try {
    return { weights: trainingTransform({ config: ref.config, model }), lsq: spec.qat.lsq };
  } catch (err) {
    throw new SpecError('qat.quantizer', `quantizer '${ref.id}' cannot be trained through: ${(err as Error).message}`);
  }
}

/** The model and starting params a trainer sees under QAT: fake-quantized forward, LSQ steps initialised where missing. */
export function trainThroughQuantizer(plan: FakeQuantPlan, model: Model, params: TensorMap): { model: Model; params: TensorMap } {
  return { model: withFakeQuantization(model, plan), params: { ...params, ...initialStepSizes(plan, params) } };
}

/** The learned steps to hand to the QAT quantizer's `quantize`, by weight name (none without LSQ). */
export function learnedStepSizes(plan: FakeQuantPlan, params: TensorMap): TensorMap | undefined {
  if (!plan.lsq) return undefined;
  const out: TensorMap = {};
  for (const name of Object.keys(plan.weights)) {
    const step = params[stepSizeName(name)];
    if (step) out[name] = step;
  }
  return out;
}
