import { dequantize, quantizeRtn, type TensorData, type TensorMap } from '@retain/engine';
import type { QloraBase } from './config';

/**
 * NormalFloat4 (Dettmers et al. 2023, Appendix E; the table of bitsandbytes): 16 levels in
 * [-1, 1], quantiles of N(0, 1) scaled to absmax 1 with an exact 0, the information-theoretically
 * best 4-bit grid for normally distributed weights normalised by their block's absmax.
 */
export const NF4_LEVELS = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495,
  0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
]);

/** The [in, out] weight as its `base` quantization computes it: each block of `blockSize` rows of each column on its absmax grid. */
export function quantizedBase(name: string, weight: TensorData, base: QloraBase): TensorData {
  if (weight.dims.length !== 2) throw new Error(`QLoRA base: '${name}' is not an [in, out] matrix (dims [${weight.dims.join(', ')}])`);
  if (base.grid === 'int') {
    const qw = quantizeRtn(weight, { bits: base.bits, granularity: 'block', blockSize: base.blockSize, symmetric: true });
    return { dims: [...weight.dims], data: dequantize(qw) };
  }
  if (base.bits !== 4) throw new Error(`bits: the nf4 grid has 4 bits; got ${base.bits}`);
  return { dims: [...weight.dims], data: nf4Dequantized(weight, base.blockSize) };
}

function nf4Dequantized(weight: TensorData, blockSize: number): Float32Array {
  const [rows, cols] = weight.dims;
  const out = new Float32Array(rows * cols);
  for (let start = 0; start < rows; start += blockSize) {
    const end = Math.min(rows, start + blockSize);
    for (let c = 0; c < cols; c++) {
      let absmax = 0;
      for (let r = start; r < end; r++) absmax = Math.max(absmax, Math.abs(weight.data[r * cols + c]));
      for (let r = start; r < end; r++) {
        const i = r * cols + c;
        out[i] = absmax === 0 ? 0 : NF4_LEVELS[nearestLevel(weight.data[i] / absmax)] * absmax;
      }
    }
  }
  return out;
}

/** Index of the NF4 level nearest v (ties to the lower level). */
function nearestLevel(v: number): number {
  let best = 0;
  for (let k = 1; k < NF4_LEVELS.length; k++) if (Math.abs(NF4_LEVELS[k] - v) < Math.abs(NF4_LEVELS[best] - v)) best = k;
  return best;
}

/** Every weight of `weights` replaced by its base quantization. */
export function quantizeBase(params: TensorMap, weights: string[], base: QloraBase): TensorMap {
  return Object.fromEntries(weights.map((name) => [name, quantizedBase(name, params[name], base)]));
}
