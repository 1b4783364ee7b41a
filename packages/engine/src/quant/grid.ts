import { codeRange } from '../codes';
import type { TensorData } from '../tensor';
import { groupCount, groupIndexer, matrixOf, type QuantizedWeight, type QuantScheme } from './weight';

// Under jest (a vm context) global lookups in hot loops are slow; alias them once.
const { abs, fround, max, min, round } = Math;

/** One group's quantization grid: value = (code - zero) * scale, codes in [min, max]. */
export interface GroupGrid {
  scale: number;
  zero: number;
  min: number;
  max: number;
}

/**
 * The min-max grid of a group whose values span [lo, hi].
 * Symmetric: scale = max|w| / qmax, codes in [-qmax, qmax] with qmax = 2^(b-1) - 1 (no -2^(b-1),
 * so negating a weight negates its code), zero 0.
 * Asymmetric: the range is widened to include 0 (so zero is exact), scale = (hi - lo) / (2^b - 1),
 * zero = round(-lo / scale), codes in [0, 2^b - 1].
 * A constant-zero group gets scale 1: any positive scale represents it exactly.
 */
export function minMaxGrid(lo: number, hi: number, bits: 4 | 8, symmetric: boolean): GroupGrid {
  if (symmetric) {
    const qmax = codeRange(bits, true).max;
    const absMax = max(abs(lo), abs(hi));
    return { scale: absMax > 0 ? fround(absMax / qmax) : 1, zero: 0, min: -qmax, max: qmax };
  }
  const qmax = codeRange(bits, false).max;
  const low = min(lo, 0);
  const high = max(hi, 0);
  const scale = high > low ? fround((high - low) / qmax) : 1;
  return { scale, zero: min(qmax, max(0, round(-low / scale))), min: 0, max: qmax };
}

/** Round to nearest on a grid, clamped to its code range. */
export function quantizeValue(v: number, grid: GroupGrid): number {
  return min(grid.max, max(grid.min, round(v / grid.scale) + grid.zero));
}

/** Min and max of each group of a [in, out] weight. */
export function groupRanges(weight: TensorData, scheme: QuantScheme): { lo: Float64Array; hi: Float64Array } {
  const dims = matrixOf('weight', weight);
  const [rows, cols] = dims;
  const group = groupIndexer(scheme, dims);
  const n = groupCount(scheme, dims);
  const lo = new Float64Array(n).fill(Infinity);
  const hi = new Float64Array(n).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = group(r, c);
      const v = weight.data[r * cols + c];
      if (v < lo[g]) lo[g] = v;
      if (v > hi[g]) hi[g] = v;
    }
  }
  return { lo, hi };
}

/** Min-max grids for every group of a weight. */
export function minMaxGrids(weight: TensorData, scheme: QuantScheme): GroupGrid[] {
  const { lo, hi } = groupRanges(weight, scheme);
  return Array.from(lo, (l, g) => minMaxGrid(l, hi[g], scheme.bits, scheme.symmetric));
}

/** Codes of a weight on given per-group grids (round to nearest), packaged as a QuantizedWeight. */
export function quantizeOnGrids(weight: TensorData, scheme: QuantScheme, grids: GroupGrid[]): QuantizedWeight {
  const dims = matrixOf('weight', weight);
  const [rows, cols] = dims;
  const group = groupIndexer(scheme, dims);
  const q = scheme.symmetric ? new Int8Array(rows * cols) : new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) q[r * cols + c] = quantizeValue(weight.data[r * cols + c], grids[group(r, c)]);
  }
  return packWeight(scheme, dims, q, grids);
}

/** A QuantizedWeight from codes and grids (the zero points are kept only for asymmetric schemes). */
export function packWeight(scheme: QuantScheme, dims: [number, number], q: Int8Array | Uint8Array, grids: GroupGrid[]): QuantizedWeight {
  return {
    bits: scheme.bits,
    dims,
    granularity: scheme.granularity,
    ...(scheme.granularity === 'block' ? { blockSize: scheme.blockSize } : {}),
    q,
    scale: Float32Array.from(grids, (g) => g.scale),
    ...(scheme.symmetric ? {} : { zeroPoint: Uint8Array.from(grids, (g) => g.zero) }),
  };
}

/** Round-to-nearest on min-max grids: every weight lands within half a step of its value. */
export function quantizeRtn(weight: TensorData, scheme: QuantScheme): QuantizedWeight {
  return quantizeOnGrids(weight, scheme, minMaxGrids(weight, scheme));
}

/**
 * For long CPU loops inside an activity (HQQ, GPTQ): `await pause()` inside the loop gives the
 * event loop a turn once every `everyMs`, so the activity's heartbeat timer still fires and a
 * heartbeat timeout does not mistake a busy quantizer for a dead worker.
 */
export function eventLoopPauser(everyMs = 50): () => Promise<void> | undefined {
  let last = Date.now();
  return () => {
    const now = Date.now();
    if (now - last < everyMs) return undefined;
    last = now;
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/**
 * The grids a quantized weight was coded on: its scale and zero point per group, each over the
 * whole code range of its format (signed without a zero point, unsigned with one). Any
 * quantizer's output has them, whatever way it chose its codes (round to nearest, GPTQ's error
 * feedback, HQQ's zero points).
 */
export function gridsOf(qw: Pick<QuantizedWeight, 'bits' | 'scale' | 'zeroPoint'>): GroupGrid[] {
  const range = codeRange(qw.bits, !qw.zeroPoint);
  return Array.from(qw.scale, (scale, g) => ({ scale, zero: qw.zeroPoint ? qw.zeroPoint[g] : 0, ...range }));
}

/**
 * The codes of `matrix` (a weight's matrix view [in, out]) rounded to nearest on the fixed grids
 * of `grid`, an earlier quantization of the same weight: two weight sets coded this way differ
 * only where a weight moved across a bucket boundary of that one grid (or left its range),
 * never because the scales were recomputed.
 */
export function codesOnFixedGrid(
  matrix: TensorData,
  grid: Pick<QuantizedWeight, 'bits' | 'dims' | 'granularity' | 'blockSize' | 'scale' | 'zeroPoint'>,
): Int8Array | Uint8Array {
  const [rows, cols] = matrixOf('weight', matrix);
  if (rows !== grid.dims[0] || cols !== grid.dims[1])
    throw new Error(`codes on a fixed grid: the weight is [${rows}, ${cols}], the grid was made for [${grid.dims.join(', ')}]`);
  const scheme: QuantScheme = { bits: grid.bits, granularity: grid.granularity, blockSize: grid.blockSize, symmetric: !grid.zeroPoint };
  return quantizeOnGrids(matrix, scheme, gridsOf(grid)).q;
}
