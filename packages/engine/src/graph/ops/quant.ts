import { codeRange } from '../../codes';
import { broadcastDims } from '../broadcast';
import { withGrad, type Tensor } from '../tensor';
import { mul } from './arith';
import { cast } from './nondiff';
import { reshape } from './shape';
import { normAxis, sameGraphAndType } from './util';
import { unbroadcast } from './expand-sum';

/**
 * Fake quantization for quantization-aware training: symmetric per-channel quantize then
 * dequantize (ONNX QuantizeLinear/DequantizeLinear, zero point 0, round half to even, clipped to
 * [-2^(bits-1), 2^(bits-1) - 1]). `scale` is [channels] along `axis` and is not trained.
 * Gradient: the straight-through estimator, passed where x is inside the clipping range, 0 outside.
 */
export function fakeQuantize(x: Tensor, scale: Tensor, bits: 4 | 8, axis: number): Tensor {
  const g = x.graph;
  const a = normAxis('fakeQuantize', axis, x.rank);
  const channels = x.dims[a];
  if (typeof channels !== 'number' || scale.rank !== 1 || scale.dims[0] !== channels || scale.dtype !== x.dtype) {
    throw new Error(`fakeQuantize: scale must be [${channels}] ${x.dtype} (one per channel on axis ${axis} of ${x}), got ${scale}`);
  }
  const zeroPoint = g.constant(new Int8Array(channels), [channels], bits === 4 ? 'int4' : 'int8');
  const q = g.node('QuantizeLinear', [x, scale, zeroPoint], { dims: x.dims, dtype: zeroPoint.dtype }, { axis: a });
  const out = g.node('DequantizeLinear', [q, scale, zeroPoint], x, { axis: a });
  const { min, max } = codeRange(bits, true);
  return withGrad(
    out,
    [x],
    [
      (gy) => {
        const s = reshape(scale, [channels, ...Array(x.rank - a - 1).fill(1)]); // broadcast along `axis`
        const inside = g.node(
          'And',
          [
            g.node('GreaterOrEqual', [x, mul(s, min)], { dims: x.dims, dtype: 'bool' }),
            g.node('LessOrEqual', [x, mul(s, max)], { dims: x.dims, dtype: 'bool' }),
          ],
          { dims: x.dims, dtype: 'bool' },
        );
        return mul(gy, cast(inside, x.dtype));
      },
    ],
  );
}

/**
 * Fake quantization with a (possibly trained) step size, for quantization-aware training:
 * out = clip(round(x / s), qmin, qmax) * s, with `s` broadcasting against `x` (e.g. [1, out] for
 * one step per output channel). Round is ONNX's (half to even).
 * Gradient to x: the straight-through estimator, gy where qmin <= x/s <= qmax and 0 where clipped.
 * Gradient to s, only when `stepGradScale` is given (LSQ, Esser et al. 2020, eq. 3):
 * gy * (round(x/s) - x/s) inside the range, gy * qmin / qmax where clipped below / above, times
 * `stepGradScale` (their g = 1/sqrt(N * qmax), N = weights sharing the step), summed over the
 * elements that share each step. Without it, s is treated as a constant (e.g. a min-max scale).
 */
export function fakeQuantizeStep(x: Tensor, s: Tensor, range: { qmin: number; qmax: number; stepGradScale?: number }): Tensor {
  const g = sameGraphAndType('fakeQuantizeStep', x, s);
  const { qmin, qmax, stepGradScale } = range;
  if (!(qmin < 0 && qmax > 0)) throw new Error(`fakeQuantizeStep: the code range must contain 0, got [${qmin}, ${qmax}]`);
  const dims = broadcastDims(x.dims, s.dims, 'fakeQuantizeStep');
  const bool = { dims, dtype: 'bool' as const };
  const v = g.node('Div', [x, s], { dims, dtype: x.dtype });
  const rounded = g.node('Round', [v], v);
  const [lo, hi] = [g.scalar(qmin, x.dtype), g.scalar(qmax, x.dtype)];
  const out = g.node('Mul', [g.node('Clip', [rounded, lo, hi], v), s], v);
  const below = g.node('Less', [v, lo], bool);
  const above = g.node('Greater', [v, hi], bool);
  const inside = g.node('Not', [g.node('Or', [below, above], bool)], bool);
  return withGrad(
    out,
    [x, s],
    [
      (gy) => unbroadcast(mul(gy, cast(inside, x.dtype)), x.dims),
      stepGradScale === undefined
        ? undefined
        : (gy) => {
            const roundingError = g.node('Sub', [rounded, v], v);
            const dOutDs = g.node('Where', [below, lo, g.node('Where', [above, hi, roundingError], v)], v);
            return unbroadcast(mul(mul(gy, dOutDs), stepGradScale), s.dims);
          },
    ],
  );
}
