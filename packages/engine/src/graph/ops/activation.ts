import { withGrad, type Tensor } from '../tensor';
import { mul, sub } from './arith';
import { greater, cast } from './nondiff';

export function relu(x: Tensor): Tensor {
  // d relu = 1 where x > 0 (0 at the kink, as in PyTorch)
  return withGrad(x.graph.node('Relu', [x], x), [x], [(g) => mul(g, cast(greater(x, 0), x.dtype))]);
}

export function tanh(x: Tensor): Tensor {
  const out = x.graph.node('Tanh', [x], x);
  return withGrad(out, [x], [(g) => mul(g, sub(x.graph.scalar(1, x.dtype), mul(out, out)))]);
}

export function sigmoid(x: Tensor): Tensor {
  const out = x.graph.node('Sigmoid', [x], x);
  return withGrad(out, [x], [(g) => mul(g, mul(out, sub(x.graph.scalar(1, x.dtype), out)))]);
}
