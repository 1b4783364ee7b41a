/**
 * The integer codes of a quantized value: [-2^(bits-1), 2^(bits-1) - 1] signed, [0, 2^bits - 1]
 * unsigned. Symmetric quantizers use [-qmax, qmax] inside the signed range (qmax = max). The one
 * place these bounds are written: weights, activations, fake quantization and export read them here.
 */
export function codeRange(bits: 4 | 8, signed: boolean): { min: number; max: number } {
  return signed ? { min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 } : { min: 0, max: 2 ** bits - 1 };
}
