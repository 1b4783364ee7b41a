import { withGrad, type Tensor } from '../tensor';
import { add, exp, mul, neg, sub } from './arith';
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

/** The error function; d erf(x) = 2 / sqrt(pi) * exp(-x^2). ORT's Erf has a float32 kernel only. */
export function erf(x: Tensor): Tensor {
  const out = x.graph.node('Erf', [x], x);
  return withGrad(out, [x], [(g) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
}

/** GELU, the exact form (PyTorch's default): x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))). */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** SiLU (swish): x * sigmoid(x), the gate of a SwiGLU MLP. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}
