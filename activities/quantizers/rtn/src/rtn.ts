import type { QuantizedWeight, TensorData } from '@retain/engine';

/**
 * Symmetric round-to-nearest quantization of a `[in, out]` weight, one scale per output channel:
 * scale_c = max_i |W[i,c]| / qmax, q = round(W / scale) clamped to [-qmax, qmax].
 * The code range is symmetric (no -2^(b-1)) so that negating a weight negates its code.
 */
export function quantizePerChannel(weight: TensorData, bits: 4 | 8): QuantizedWeight {
  if (weight.dims.length !== 2) throw new Error(`expected a 2-D weight, got dims [${weight.dims.join(', ')}]`);
  const [rows, cols] = weight.dims;
  const qmax = 2 ** (bits - 1) - 1;
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c], Math.abs(weight.data[r * cols + c]));
  }
  // An all-zero channel gets scale 1: any positive scale represents it exactly, and 0 would divide by zero.
  for (let c = 0; c < cols; c++) scale[c] = scale[c] > 0 ? Math.fround(scale[c] / qmax) : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = Math.round(weight.data[r * cols + c] / scale[c]);
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, code));
    }
  }
  return { bits, axis: 1, q, scale };
}

/** The float weights a quantized weight stands for: q * scale, per output channel. */
export function dequantize(w: QuantizedWeight, dims: number[]): Float32Array {
  const [rows, cols] = dims;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = w.q[r * cols + c] * w.scale[c];
  return out;
}
