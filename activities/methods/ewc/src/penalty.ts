import { add, mul, square, sub, sum, type StepMethod, type Tensor, type TensorMap } from '@retain/engine';
import type { MethodTraining } from '@retain/sdk';

/** One quadratic anchor: sum_i weight_i * (theta_i - anchor_i)^2 over the params it names. */
export interface QuadraticAnchor {
  /** Prefix of its graph inputs, unique per anchor (e.g. 'ewc.0'). */
  prefix: string;
  weights: TensorMap;
  anchor: TensorMap;
}

/**
 * coefficient * sum over anchors of sum_i w_i (theta_i - a_i)^2, restricted to the params this
 * task trains (a frozen head cannot move, so its term is a constant). Weights and anchors are
 * graph inputs fed once per task, so one graph serves every step.
 */
export function quadraticPenalty(anchors: QuadraticAnchor[], coefficient: number, trainable: string[]): MethodTraining {
  const constants: Record<string, number[]> = {};
  const tensors: TensorMap = {};
  const terms: { weight: string; anchor: string; param: string }[] = [];
  for (const a of anchors) {
    for (const param of Object.keys(a.weights).filter((p) => trainable.includes(p))) {
      const weight = `${a.prefix}.weight.${param}`;
      const anchor = `${a.prefix}.anchor.${param}`;
      if (!a.anchor[param]) throw new Error(`quadratic penalty '${a.prefix}': no anchor value for '${param}'`);
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

/** The tensors of `state` whose names start with `prefix`, keyed by the rest of the name. */
export function withPrefix(state: TensorMap | undefined, prefix: string): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(state ?? {})) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t;
  return out;
}

/** `tensors` renamed to `<prefix><name>`. */
export function prefixed(tensors: TensorMap, prefix: string): TensorMap {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [`${prefix}${name}`, t]));
}
