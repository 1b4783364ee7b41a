import type { TensorData } from '../tensor';
import { codeRange } from '../codes';

/** How many weights share one scale (and zero point). */
export type QuantGranularity = 'per-tensor' | 'per-channel' | 'block';

/** What a quantizer is asked for: width, grouping and whether codes are centred on zero. */
export interface QuantScheme {
  bits: 4 | 8;
  granularity: QuantGranularity;
  /** Rows (input features) per block along the input axis; required for 'block'. */
  blockSize?: number;
  /** Symmetric: signed codes, no zero point. Asymmetric: unsigned codes and an integer zero point per group. */
  symmetric: boolean;
}

/**
 * A quantized matrix weight of dims [in, out] (the layout of every linear weight here: y = x W).
 * w[i][c] ~= (q[i][c] - zeroPoint[g]) * scale[g], where the group g of element (i, c) is
 * - per-tensor: 0 (one scale);
 * - per-channel: c (one scale per output channel);
 * - block: floor(i / blockSize) * out + c (scale laid out [ceil(in / blockSize), out], as ONNX's
 *   blocked DequantizeLinear along axis 0 expects).
 * Symmetric weights have signed codes (Int8Array, no zero point); asymmetric ones unsigned codes
 * (Uint8Array) and one zero point per group, both in [0, 2^bits - 1]: the ONNX int/uint 4/8 types.
 *
 * A conv weight [C_out, C_in, kh, kw] is quantized as its im2col matrix view [C_in * kh * kw, C_out]
 * (the conv is patches x that matrix), so "per channel" is per output channel and every quantizer
 * works on it unchanged; `shape` then holds the conv weight's own dims (see `matrixView`).
 */
export interface QuantizedWeight {
  bits: 4 | 8;
  /** The matrix view [in, out] the codes are laid out for. */
  dims: [number, number];
  /** Set for a conv weight: its dims [C_out, C_in, kh, kw], of which `dims` is the im2col view. */
  shape?: number[];
  granularity: QuantGranularity;
  blockSize?: number;
  /** One code per element, row-major like the weight. */
  q: Int8Array | Uint8Array;
  scale: Float32Array;
  zeroPoint?: Uint8Array;
  /**
   * Mixed precision (block granularity, symmetric, `bits` 8): the width in bits (2..8) of each band
   * of `blockSize` input rows, one entry per band. A band of width b keeps its codes in
   * [-(2^(b-1) - 1), 2^(b-1) - 1]: the codes and scales mean what they mean without it (int8 codes,
   * one scale per block), and the export stores each band's codes at b bits (`mixed-export.ts`).
   */
  blockBits?: Uint8Array;
}

/** Number of scale groups of a scheme for dims [in, out]. */
export function groupCount(scheme: Pick<QuantScheme, 'granularity' | 'blockSize'>, dims: [number, number]): number {
  const [rows, cols] = dims;
  if (scheme.granularity === 'per-tensor') return 1;
  if (scheme.granularity === 'per-channel') return cols;
  return Math.ceil(rows / blockSizeOf(scheme)) * cols;
}

/** The group index of element (row, col). */
export function groupIndexer(
  scheme: Pick<QuantScheme, 'granularity' | 'blockSize'>,
  dims: [number, number],
): (row: number, col: number) => number {
  const cols = dims[1];
  if (scheme.granularity === 'per-tensor') return () => 0;
  if (scheme.granularity === 'per-channel') return (_row, col) => col;
  const size = blockSizeOf(scheme);
  return (row, col) => Math.floor(row / size) * cols + col;
}

function blockSizeOf(scheme: Pick<QuantScheme, 'granularity' | 'blockSize'>): number {
  const size = scheme.blockSize;
  if (size === undefined || !Number.isInteger(size) || size < 1)
    throw new Error(`quantization: granularity 'block' needs blockSize, a positive integer (e.g. 32); got ${size}`);
  return size;
}

/** Whether a parameter of these dims is a weight quantizers quantize: a matrix [in, out] or a conv kernel [C_out, C_in, kh, kw]. */
export function isQuantizable(dims: readonly number[]): boolean {
  return dims.length === 2 || dims.length === 4;
}

/** The [in, out] matrix a quantizer works on for a weight of `dims` (the im2col view of a conv kernel). */
export function matrixDims(name: string, dims: readonly number[]): [number, number] {
  if (dims.length === 2) return [dims[0], dims[1]];
  if (dims.length === 4) return [dims[1] * dims[2] * dims[3], dims[0]];
  throw new Error(
    `'${name}': only matrix [in, out] and conv [C_out, C_in, kh, kw] weights can be quantized, got dims [${dims.join(', ')}]`,
  );
}

/**
 * A weight as the matrix quantizers work on: a matrix as it is, a conv kernel [C_out, K...] transposed
 * to its im2col view [K, C_out] (K = C_in * kh * kw, in the kernel's own row-major order).
 */
export function matrixView(name: string, weight: TensorData): TensorData {
  const [rows, cols] = matrixDims(name, weight.dims);
  if (weight.dims.length === 2) return weight;
  return { dims: [rows, cols], data: transposeMatrix(weight.data, cols, rows) };
}

/** Values of a matrix view back in the weight's own layout (a conv kernel transposed back to [C_out, K...]). */
export function fromMatrixView(qw: Pick<QuantizedWeight, 'dims' | 'shape'>, values: Float32Array): TensorData {
  if (!qw.shape) return { dims: [...qw.dims], data: values };
  return { dims: [...qw.shape], data: transposeMatrix(values, qw.dims[0], qw.dims[1]) };
}

/**
 * Quantizes a weight of any quantizable shape with a quantizer of matrices: a conv kernel goes
 * through its im2col view and the result remembers its shape.
 */
export async function quantizeWeight(
  name: string,
  weight: TensorData,
  quantize: (matrix: TensorData) => QuantizedWeight | Promise<QuantizedWeight>,
): Promise<QuantizedWeight> {
  const qw = await quantize(matrixView(name, weight));
  return weight.dims.length === 4 ? { ...qw, shape: [...weight.dims] } : qw;
}

/** [rows, cols] row-major to [cols, rows] row-major. */
export function transposeMatrix<T extends Float32Array | Int8Array | Uint8Array>(a: T, rows: number, cols: number): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** Throws, naming the weight and the field, unless `qw` is a consistent quantized weight of `dims`. */
export function validateQuantizedWeight(name: string, qw: QuantizedWeight, dims: number[]): void {
  const fail = (what: string): never => {
    throw new Error(`quantized weight '${name}': ${what}`);
  };
  if (!isQuantizable(dims))
    fail(`only matrix [in, out] and conv [C_out, C_in, kh, kw] weights can be quantized; the model's dims are [${dims.join(', ')}]`);
  if (qw.bits !== 4 && qw.bits !== 8) fail(`bits must be 4 or 8, got ${qw.bits}`);
  const view = matrixDims(name, dims);
  if (qw.dims?.length !== 2 || qw.dims[0] !== view[0] || qw.dims[1] !== view[1])
    fail(
      `dims [${qw.dims?.join(', ')}] differ from the model's [${view.join(', ')}]${dims.length === 4 ? ' (the im2col view of its conv kernel)' : ''}`,
    );
  if (dims.length === 4 ? qw.shape?.join() !== dims.join() : qw.shape !== undefined)
    fail(
      `shape [${qw.shape?.join(', ') ?? ''}] must be ${dims.length === 4 ? `the conv kernel's [${dims.join(', ')}]` : 'absent for a matrix weight'}`,
    );
  const n = view[0] * view[1];
  if (qw.q.length !== n) fail(`${qw.q.length} codes for dims [${dims.join(', ')}] (${n} elements)`);
  const groups = groupCount(qw, qw.dims);
  if (qw.scale.length !== groups) fail(`${qw.scale.length} scales, ${qw.granularity} over [${dims.join(', ')}] has ${groups} groups`);
  const signed = !qw.zeroPoint;
  if (signed !== isInt8Array(qw.q))
    fail(signed ? 'symmetric codes (no zero point) must be an Int8Array' : 'codes with a zero point must be a Uint8Array (unsigned)');
  if (qw.zeroPoint && qw.zeroPoint.length !== groups) fail(`${qw.zeroPoint.length} zero points for ${groups} groups`);
  const { min, max } = codeRange(qw.bits, signed);
  for (let i = 0; i < n; i++) if (qw.q[i] < min || qw.q[i] > max) fail(`code ${qw.q[i]} at element ${i} is outside [${min}, ${max}]`);
  if (qw.zeroPoint) for (const z of qw.zeroPoint) if (z > max) fail(`zero point ${z} is outside [0, ${max}]`);
  if (qw.blockBits) validateBlockBits(qw, fail);
  // A step learned by LSQ may end up negative: (q - z) * s is still well defined, only 0 is not.
  for (const s of qw.scale) if (s === 0 || !Number.isFinite(s)) fail(`scales must be finite and non-zero, got ${s}`);
}

/** A mixed-precision weight: block granularity, signed 8-bit codes, one width in 2..8 per band, each band's codes inside its width. */
function validateBlockBits(qw: QuantizedWeight, fail: (what: string) => never): void {
  const [rows, cols] = qw.dims;
  if (qw.granularity !== 'block' || qw.bits !== 8 || qw.zeroPoint)
    fail('blockBits (mixed precision) needs granularity block, bits 8 and symmetric codes (no zero point)');
  const bands = Math.ceil(rows / qw.blockSize!);
  if (qw.blockBits!.length !== bands)
    fail(`blockBits has ${qw.blockBits!.length} widths, the weight has ${bands} bands of ${qw.blockSize} rows`);
  for (let k = 0; k < bands; k++) {
    const b = qw.blockBits![k];
    if (!Number.isInteger(b) || b < 2 || b > 8) fail(`blockBits[${k}] must be an integer in [2, 8], got ${b}`);
    const qmax = 2 ** (b - 1) - 1;
    for (let i = k * qw.blockSize! * cols; i < Math.min(rows, (k + 1) * qw.blockSize!) * cols; i++)
      if (qw.q[i] < -qmax || qw.q[i] > qmax)
        fail(`code ${qw.q[i]} at element ${i} is outside band ${k}'s ${b}-bit range [${-qmax}, ${qmax}]`);
  }
}

/**
 * The plain TypeScript reference of what a quantized weight stands for: (q - zeroPoint) * scale
 * per element, rounded to float32 as onnxruntime's DequantizeLinear computes it, laid out as the
 * matrix view `dims` (`fromMatrixView` gives a conv kernel's own layout).
 */
export function dequantize(qw: QuantizedWeight): Float32Array {
  const [rows, cols] = qw.dims;
  const group = groupIndexer(qw, qw.dims);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = group(r, c);
      out[r * cols + c] = (qw.q[r * cols + c] - (qw.zeroPoint ? qw.zeroPoint[g] : 0)) * qw.scale[g];
    }
  }
  return out;
}

/** Float32 weight data as dims [in, out], or an error naming the weight. */
export function matrixOf(name: string, t: TensorData): [number, number] {
  if (t.dims.length !== 2) throw new Error(`'${name}': expected a 2-D [in, out] weight, got dims [${t.dims.join(', ')}]`);
  return [t.dims[0], t.dims[1]];
}

// Arrays may come from another realm (jest vm contexts, worker threads), where instanceof fails.
function isInt8Array(a: ArrayBufferView): boolean {
  return Object.prototype.toString.call(a) === '[object Int8Array]';
}
