import { withGrad, type Tensor } from '../tensor';
import { mul } from './arith';
import { cast } from './nondiff';
import { reshape } from './shape';
import { normAxis } from './util';

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
  const qmax = 2 ** (bits - 1) - 1;
  return withGrad(
    out,
    [x],
    [
      (gy) => {
        const s = reshape(scale, [channels, ...Array(x.rank - a - 1).fill(1)]); // broadcast along `axis`
        const inside = g.node(
          'And',
          [
            g.node('GreaterOrEqual', [x, mul(s, -(qmax + 1))], { dims: x.dims, dtype: 'bool' }),
            g.node('LessOrEqual', [x, mul(s, qmax)], { dims: x.dims, dtype: 'bool' }),
          ],
          { dims: x.dims, dtype: 'bool' },
        );
        return mul(gy, cast(inside, x.dtype));
      },
    ],
  );
}
