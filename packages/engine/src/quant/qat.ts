import { fakeQuantize, type Tensor } from '../graph';
import type { QuantScheme } from './weight';

/**
 * Quantization-aware training's view of a matrix weight [in, out]: its fake-quantized value
 * (quantize then dequantize, inside the graph) on the same min-max grid RTN uses, with the scale
 * recomputed from the current weight at every step and treated as a constant; the gradient passes
 * straight through (the straight-through estimator of `fakeQuantize`). A forward built on these
 * values equals the exported RTN-quantized model's forward, so a method trains "through" the
 * quantizer it will be deployed with.
 * Symmetric per-channel and per-tensor schemes; block and asymmetric grids, and learned step
 * sizes (LSQ), are not implemented yet.
 */
export function fakeQuantizeWeight(w: Tensor, scheme: QuantScheme): Tensor {
  if (!scheme.symmetric || scheme.granularity === 'block')
    throw new Error(
      `fakeQuantizeWeight: only symmetric per-channel or per-tensor schemes are supported for now, got ${scheme.symmetric ? '' : 'asymmetric '}${scheme.granularity}`,
    );
  const g = w.graph;
  const [rows, cols] = w.dims;
  if (w.rank !== 2 || typeof rows !== 'number' || typeof cols !== 'number')
    throw new Error(`fakeQuantizeWeight: expected a static 2-D [in, out] weight, got ${w}`);
  const qmax = 2 ** (scheme.bits - 1) - 1;
  // Raw nodes without gradient rules: the autodiff sees the scale as a constant, as the STE wants.
  const abs = g.node('Abs', [w], { dims: w.dims, dtype: w.dtype });
  const perChannel = scheme.granularity === 'per-channel';
  const axes = g.constant(new BigInt64Array(perChannel ? [0n] : [0n, 1n]), [perChannel ? 1 : 2], 'int64');
  const absMax = g.node('ReduceMax', [abs, axes], { dims: perChannel ? [cols] : [], dtype: w.dtype }, { keepdims: 0 });
  const raw = g.node('Div', [absMax, g.scalar(qmax, w.dtype)], { dims: absMax.dims, dtype: w.dtype });
  // An all-zero channel gets scale 1, as RTN gives it (any positive scale represents it exactly).
  const positive = g.node('Greater', [absMax, g.scalar(0, w.dtype)], { dims: absMax.dims, dtype: 'bool' });
  const scale = g.node('Where', [positive, raw, g.scalar(1, w.dtype)], { dims: absMax.dims, dtype: w.dtype });
  const perColumn = perChannel
    ? scale
    : g.node('Expand', [scale, g.constant(new BigInt64Array([BigInt(cols)]), [1], 'int64')], { dims: [cols], dtype: w.dtype });
  return fakeQuantize(w, perColumn, scheme.bits, 1);
}
