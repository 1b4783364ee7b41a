import { add, div, mul, neg, relu, sub, sum, type StepMethod, type Tensor } from '@retain/engine';
import { agem } from './names';

export const MEMORY_X = agem.inputs.name('x');
export const MEMORY_Y = agem.inputs.name('y');

/**
 * A-GEM's gradient transform: with g the batch gradient and r the reference gradient on a memory
 * batch (fed as 'agem.x', 'agem.y' each step), the update uses
 *   g - (min(g.r, 0) / r.r) r
 * i.e. g unchanged when it agrees with r, else g projected so that g.r = 0. Inner products run
 * over every trainable param at once. min(d, 0) = -relu(-d) keeps the graph free of branches.
 */
export function agemProjection(inputDims: number[], targets = 1): StepMethod {
  return {
    batchInputs: {
      [MEMORY_X]: { dims: ['M', ...inputDims], dtype: 'float32' },
      // M * targets labels when each sample has several (a causal LM's every position).
      [MEMORY_Y]: { dims: [targets === 1 ? 'M' : `M*${targets}`], dtype: 'int64' },
    },
    gradientTransform: ({ grads, inputs, trainable, lossGradients }) =>
      projectOnto(grads, lossGradients(inputs[MEMORY_X], inputs[MEMORY_Y]), trainable),
  };
}

/** g - (min(g.r, 0) / r.r) r, with inner products over every param in `names`. */
export function projectOnto(grads: Record<string, Tensor>, reference: Record<string, Tensor>, names: string[]): Record<string, Tensor> {
  const dot = (a: Record<string, Tensor>, b: Record<string, Tensor>) => names.map((n) => sum(mul(a[n], b[n]))).reduce((s, t) => add(s, t));
  const conflict = neg(relu(neg(dot(grads, reference))));
  const coefficient = div(conflict, add(dot(reference, reference), 1e-12));
  return Object.fromEntries(names.map((n) => [n, sub(grads[n], mul(reference[n], coefficient))]));
}
