import { withGrad, type Tensor } from '../tensor';
import { div } from './arith';
import { reduce, reduceSum } from './expand-sum';
import { countOf } from './nondiff';

// reduceSum lives with expandTo (each is the other's gradient); the reductions built on it are here.

/** Mean over `axes` (all axes when omitted). Symbolic dims (a batch) are counted at run time. */
export function reduceMean(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const { out, ax, spread } = reduce('ReduceMean', x, axes, keepdims);
  return withGrad(out, [x], [(g) => div(spread(g), countOf(x, ax))]);
}

/** Sum of all elements (a scalar). */
export function sum(x: Tensor): Tensor {
  return reduceSum(x);
}

/** Mean of all elements (a scalar). */
export function mean(x: Tensor): Tensor {
  return reduceMean(x);
}
