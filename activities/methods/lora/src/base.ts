import { frozenValues, quantizeRtn, type FrozenWeight, type QuantizedWeight, type TensorData, type TensorMap } from '@retain/engine';
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

/**
 * The [in, out] weight's base as codes: RTN's signed integer codes and scales ('int'), or NF4
 * level indices and each block's absmax ('nf4'); each block of `blockSize` rows of each column on
 * its own absmax grid. The step graph holds these codes (`withFrozenCodes`).
 */
export function frozenBase(name: string, weight: TensorData, base: QloraBase): FrozenWeight {
  if (weight.dims.length !== 2) throw new Error(`QLoRA base: '${name}' is not an [in, out] matrix (dims [${weight.dims.join(', ')}])`);
  if (base.grid === 'int') {
    return {
      kind: 'codes',
      weight: quantizeRtn(weight, { bits: base.bits, granularity: 'block', blockSize: base.blockSize, symmetric: true }),
    };
  }
  if (base.bits !== 4) throw new Error(`bits: the nf4 grid has 4 bits; got ${base.bits}`);
  return nf4Codes(weight, base.blockSize);
}

/** The [in, out] weight as its `base` quantization computes it (the values of frozenBase's codes). */
export function quantizedBase(name: string, weight: TensorData, base: QloraBase): TensorData {
  return { dims: [...weight.dims], data: frozenValues(frozenBase(name, weight, base)) };
}

function nf4Codes(weight: TensorData, blockSize: number): FrozenWeight {
  const [rows, cols] = weight.dims as [number, number];
  const blocks = Math.ceil(rows / blockSize);
  const codes = new Uint8Array(rows * cols);
  const absmax = new Float32Array(blocks * cols);
  for (let b = 0; b < blocks; b++) {
    const [start, end] = [b * blockSize, Math.min(rows, (b + 1) * blockSize)];
    for (let c = 0; c < cols; c++) {
      let m = 0;
      for (let r = start; r < end; r++) m = Math.max(m, Math.abs(weight.data[r * cols + c]!));
      absmax[b * cols + c] = m;
      // An all-zero block keeps code 7 (level 0): zero however its absmax scales it.
      for (let r = start; r < end; r++) codes[r * cols + c] = m === 0 ? 7 : nearestLevel(weight.data[r * cols + c]! / m);
    }
  }
  return { kind: 'levels', dims: [rows, cols], levels: NF4_LEVELS, codes, blockSize, absmax };
}

/** Index of the NF4 level nearest v (ties to the lower level). */
function nearestLevel(v: number): number {
  let best = 0;
  for (let k = 1; k < NF4_LEVELS.length; k++) if (Math.abs(NF4_LEVELS[k] - v) < Math.abs(NF4_LEVELS[best] - v)) best = k;
  return best;
}

/** QLoRA's base for some weights: the codes the step graph holds, and the float32 values they stand for. */
export interface QuantizedBase {
  frozen: Record<string, FrozenWeight>;
  values: TensorMap;
}

/** Every weight of `weights` as its base quantization. */
export function quantizeBase(params: TensorMap, weights: string[], base: QloraBase): QuantizedBase {
  return baseOfCodes(Object.fromEntries(weights.map((name) => [name, frozenBase(name, params[name]!, base)])));
}

/** A base from a spec quantizer's codes (GPTQ, HQQ: `base.quantizer`). */
export function baseOfQuantized(quantized: Record<string, QuantizedWeight>): QuantizedBase {
  return baseOfCodes(Object.fromEntries(Object.entries(quantized).map(([name, weight]) => [name, { kind: 'codes', weight }])));
}

function baseOfCodes(frozen: Record<string, FrozenWeight>): QuantizedBase {
  const values = Object.fromEntries(
    Object.entries(frozen).map(([name, f]) => [
      name,
      { dims: f.kind === 'codes' ? [...f.weight.dims] : [...f.dims], data: frozenValues(f) },
    ]),
  );
  return { frozen, values };
}
