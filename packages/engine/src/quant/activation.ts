import { codeRange } from '../codes';
import { minMaxGrid } from './grid';

/** Per-tensor 8-bit quantization of an activation: uint8 with a zero point, or int8 symmetric (zero point 0). */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  signed: boolean;
}

// Under jest (a vm context) global lookups in hot loops are slow; alias them once.
const { floor, max, min, round } = Math;

/**
 * Static calibration of one activation tensor from observed values:
 * - 'minmax': the grid spans the smallest and largest value seen;
 * - 'percentile': it spans the (100 - p)th and pth percentiles, clipping rare outliers so the
 *   common values get finer steps.
 * Unsigned (uint8 with a zero point) unless `signed` (int8, zero point 0). Zero is always exact.
 */
export function calibrateActivation(
  values: Float32Array,
  method: 'minmax' | 'percentile',
  percentile: number,
  signed: boolean,
): ActivationQuant {
  if (values.length === 0) throw new Error('calibrateActivation: no values observed; give the calibration at least one example');
  let lo: number;
  let hi: number;
  if (method === 'minmax') {
    lo = Infinity;
    hi = -Infinity;
    for (const v of values) {
      lo = min(lo, v);
      hi = max(hi, v);
    }
  } else {
    if (!(percentile > 50 && percentile <= 100)) throw new Error(`calibrateActivation: percentile must be in (50, 100], got ${percentile}`);
    const sorted = Float32Array.from(values).sort();
    const at = (p: number) => sorted[min(sorted.length - 1, max(0, round((p / 100) * (sorted.length - 1))))];
    lo = at(100 - percentile);
    hi = at(percentile);
  }
  const grid = minMaxGrid(lo, hi, 8, signed);
  return { scale: grid.scale, zeroPoint: grid.zero, signed };
}

/**
 * The TS reference of QuantizeLinear then DequantizeLinear (ONNX semantics): round half to even,
 * saturate to the 8-bit type's range, then (q - zeroPoint) * scale in float32.
 */
export function fakeQuantizeActivation(values: Float32Array, a: ActivationQuant): Float32Array {
  const { min: lo, max: hi } = codeRange(8, a.signed);
  return Float32Array.from(values, (v) => (min(hi, max(lo, roundHalfEven(v / a.scale) + a.zeroPoint)) - a.zeroPoint) * a.scale);
}

function roundHalfEven(v: number): number {
  const f = floor(v);
  const d = v - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}
