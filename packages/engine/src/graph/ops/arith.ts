import { broadcastDims } from '../broadcast';
import { withGrad, type Tensor } from '../tensor';
import { lift, sameGraphAndType } from './util';
import { unbroadcast } from './expand-sum';

function binary(op: 'Add' | 'Sub' | 'Mul' | 'Div', a: Tensor, b: Tensor) {
  const g = sameGraphAndType(op, a, b);
  return g.node(op, [a, b], { dims: broadcastDims(a.dims, b.dims, op), dtype: a.dtype });
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  const y = lift(b, a);
  return withGrad(binary('Add', a, y), [a, y], [(g) => unbroadcast(g, a.dims), (g) => unbroadcast(g, y.dims)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  const y = lift(b, a);
  return withGrad(binary('Sub', a, y), [a, y], [(g) => unbroadcast(g, a.dims), (g) => unbroadcast(neg(g), y.dims)]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  const y = lift(b, a);
  return withGrad(binary('Mul', a, y), [a, y], [(g) => unbroadcast(mul(g, y), a.dims), (g) => unbroadcast(mul(g, a), y.dims)]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  const y = lift(b, a);
  const out = binary('Div', a, y);
  // d(a/b)/db = -a/b^2 = -out/b
  return withGrad(out, [a, y], [(g) => unbroadcast(div(g, y), a.dims), (g) => unbroadcast(neg(div(mul(g, out), y)), y.dims)]);
}

export function neg(x: Tensor): Tensor {
  return withGrad(x.graph.node('Neg', [x], x), [x], [(g) => neg(g)]);
}

/** Multiplies by a constant number (no gradient flows to the constant). */
export function scale(x: Tensor, c: number): Tensor {
  return mul(x, c);
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}

export function exp(x: Tensor): Tensor {
  const out = x.graph.node('Exp', [x], x);
  return withGrad(out, [x], [(g) => mul(g, out)]);
}

export function log(x: Tensor): Tensor {
  return withGrad(x.graph.node('Log', [x], x), [x], [(g) => div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const out = x.graph.node('Sqrt', [x], x);
  return withGrad(out, [x], [(g) => div(g, mul(out, 2))]);
}

/** x ** e, elementwise. Gradients: e * x^(e-1) to x, and (for a tensor exponent) x^e * log(x) to e. */
export function pow(x: Tensor, e: Tensor | number): Tensor {
  const y = lift(e, x);
  const out = binaryPow(x, y);
  return withGrad(
    out,
    [x, y],
    [
      (g) => unbroadcast(mul(g, mul(binaryPow(x, sub(y, 1)), y)), x.dims),
      typeof e === 'number' ? undefined : (g) => unbroadcast(mul(g, mul(out, log(x))), y.dims),
    ],
  );
}

function binaryPow(x: Tensor, y: Tensor): Tensor {
  const g = sameGraphAndType('pow', x, y);
  return g.node('Pow', [x, y], { dims: broadcastDims(x.dims, y.dims, 'pow'), dtype: x.dtype });
}
