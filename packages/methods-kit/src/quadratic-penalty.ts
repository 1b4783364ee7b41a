import { add, mul, square, sub, sum, type StepMethod, type Tensor, type TensorMap } from '@retain/engine';
import type { MethodTraining } from '@retain/sdk';
import type { Namespace } from './namespace';
import { guardCurvature, type CurvatureGuard } from './curvature-guard';

/** One quadratic anchor: sum_i weight_i * (theta_i - anchor_i)^2 over the params it names. */
export interface QuadraticAnchor {
  /** Where its graph inputs live, unique per anchor (e.g. 'ewc.0': 'ewc.0.weight.<p>', 'ewc.0.anchor.<p>'). */
  inputs: Namespace;
  weights: TensorMap;
  anchor: TensorMap;
}

/**
 * coefficient * sum over anchors of sum_i w_i (theta_i - a_i)^2, restricted to the params this
 * task trains (a frozen head cannot move, so its term is a constant). Weights and anchors are
 * graph inputs fed once per task, so one graph serves every step. With a `guard`, the penalty's
 * curvature is checked against the trainer's stability bound first (`guardCurvature`: fails, or
 * clips the weights when the guard says so).
 */
export function quadraticPenalty(
  anchors: QuadraticAnchor[],
  coefficient: number,
  trainable: string[],
  guard?: CurvatureGuard,
): MethodTraining {
  if (guard) {
    const weights = guardCurvature(
      anchors.map((a) => a.weights),
      coefficient,
      trainable,
      guard,
    );
    anchors = anchors.map((a, k) => (weights[k] === a.weights ? a : { ...a, weights: weights[k] }));
  }
  const constants: Record<string, number[]> = {};
  const tensors: TensorMap = {};
  const terms: { weight: string; anchor: string; param: string }[] = [];
  for (const a of anchors) {
    for (const param of Object.keys(a.weights).filter((p) => trainable.includes(p))) {
      const weight = a.inputs.name('weight', param);
      const anchor = a.inputs.name('anchor', param);
      if (!a.anchor[param]) throw new Error(`quadratic penalty '${a.inputs.path}': no anchor value for '${param}'`);
      constants[weight] = [...a.weights[param].dims];
      constants[anchor] = [...a.anchor[param].dims];
      tensors[weight] = a.weights[param];
      tensors[anchor] = a.anchor[param];
      terms.push({ weight, anchor, param });
    }
  }
  if (!terms.length) return {};
  const step: StepMethod = {
    constants,
    lossTerm: ({ params, inputs }) => {
      let total: Tensor | undefined;
      for (const t of terms) {
        const term = sum(mul(inputs[t.weight], square(sub(params[t.param], inputs[t.anchor]))));
        total = total ? add(total, term) : term;
      }
      return total && mul(total, coefficient);
    },
  };
  return { step, tensors };
}
