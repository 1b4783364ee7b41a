import { argmax, floatConstant, Graph, linearLayers, reshape, type Attr, type Op, type Tensor } from './graph';
import type { DType } from './onnx/proto';
import { buffersOf, paramSpec, type Model } from './models/model';
import { groupCount, transposeMatrix, validateQuantizedWeight, type QuantizedWeight } from './quant/weight';
import { codeRange } from './codes';
import { mixedPrecisionKernel, mixedPrecisionMatrix } from './mixed-export';
import type { ActivationQuant } from './quant/activation';
import type { TensorMap } from './tensor';

/**
 * How quantized weights are written:
 * - 'qdq': standard ONNX (opset 21) DequantizeLinear over int8/uint8/int4/uint4 initializers,
 *   per-tensor, per-axis or blocked, feeding a float MatMul: any ONNX runtime loads it.
 * - 'matmulnbits': onnxruntime's com.microsoft MatMulNBits, the weight packed in blocks along
 *   the input axis; block granularity only, the fast int4 path of onnxruntime.
 */
export type QuantizedFormat = 'qdq' | 'matmulnbits';

export interface InferenceExportOptions {
  format?: QuantizedFormat;
  /**
   * Static 8-bit activation quantization (W8A8), keyed by the weight whose MatMul input it
   * quantizes: that input goes through QuantizeLinear + DequantizeLinear (one scale and zero point
   * for the tensor), so onnxruntime can run the MatMul in integers.
   */
  activations?: Record<string, ActivationQuant>;
  /**
   * MatMulNBits only: the precision of its arithmetic (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8
   * activations). 1 computes exactly dequantize-then-matmul; 4 is faster and less exact.
   */
  accuracyLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * A standalone inference model: input 'x' [B, ...inputDims], outputs 'logits' and 'pred', weights
 * as initializers so any ONNX runtime can load it. Quantized weights are stored as their codes,
 * scales and zero points in the chosen format; everything else stays float32.
 */
export function buildInferenceModel(
  model: Model,
  head: number,
  params: TensorMap,
  quantized: Record<string, QuantizedWeight> = {},
  options: InferenceExportOptions = {},
): Uint8Array {
  const format = options.format ?? 'qdq';
  if (format !== 'qdq' && format !== 'matmulnbits')
    throw new Error(`buildInferenceModel: format must be 'qdq' or 'matmulnbits', got '${format}'`);
  for (const name of Object.keys(quantized)) validateQuantizedWeight(name, quantized[name], paramSpec(model, name).dims);
  const activations = options.activations ?? {};
  for (const [p, a] of Object.entries(activations)) validateActivationQuant(p, a, model);
  const name = `${model.name}.inference.head${head}`;
  const forward = new Graph(name);
  const x = forward.input('x', ['B', ...model.inputDims]);
  const weights: Record<string, Tensor> = {};
  const rewrites = new Map<Tensor, LayerRewrite>(); // by weight
  for (const p of model.paramsForHead(head)) {
    const dims = paramSpec(model, p).dims;
    const qw = quantized[p];
    weights[p] = qw ? dequantizedConstant(forward, qw) : floatConstant(forward, p, dims, params);
    const nbits = format === 'matmulnbits' ? qw : undefined;
    if (nbits) checkMatMulNBits(p, nbits);
    if (nbits || activations[p]) rewrites.set(weights[p], { name: p, nbits, activation: activations[p] });
  }
  for (const b of buffersOf(model)) weights[b.name] = floatConstant(forward, b.name, b.dims, params); // batch-norm statistics stay float
  const logits = model.forward(forward, weights, x, head);
  // The model writes plain MatMuls; its linear layers by rewritten weights are rebuilt quantized.
  const layers = new Map<Op, LayerRewrite>();
  for (const layer of linearLayers([logits], new Set(rewrites.keys())))
    if (layer.op.type === 'MatMul') layers.set(layer.op, rewrites.get(layer.weight)!);
  assertActivationsRewritten(rewrites, layers);
  const accuracyLevel = options.accuracyLevel ?? 1;
  const { graph: g, copied } = forward.rewrite(name, (op, inputs, into) => {
    const rewrite = layers.get(op);
    return rewrite && quantizedMatMul(into, inputs, op.outputs[0], rewrite, accuracyLevel);
  });
  g.output('pred', argmax(copied(logits), 1));
  g.output('logits', copied(logits));
  return g.toBytes({ 'retain.model': model.name, 'retain.head': String(head), 'retain.format': format });
}

/** DequantizeLinear (opset 21) of the codes: per-tensor (scalar scale), per-axis (axis 1) or blocked along axis 0. */
export function dequantizedConstant(g: Graph, qw: QuantizedWeight): Tensor {
  if (qw.blockBits) return qw.shape ? mixedPrecisionKernel(g, qw) : mixedPrecisionMatrix(g, qw);
  if (qw.shape) return dequantizedKernel(g, qw);
  const [rows, cols] = qw.dims;
  const codeType = codeTypeOf(qw);
  const scaleDims =
    qw.granularity === 'per-tensor' ? [] : qw.granularity === 'per-channel' ? [cols] : [groupCount(qw, qw.dims) / cols, cols];
  const attrs: Record<string, Attr> =
    qw.granularity === 'per-tensor' ? {} : qw.granularity === 'per-channel' ? { axis: 1 } : { axis: 0, block_size: qw.blockSize! };
  const inputs = [g.constant(qw.q, [rows, cols], codeType), g.constant(qw.scale, scaleDims, 'float32')];
  if (qw.zeroPoint) inputs.push(g.constant(qw.zeroPoint, scaleDims, codeType));
  return g.node('DequantizeLinear', inputs, { dims: [rows, cols], dtype: 'float32' }, attrs);
}

function codeTypeOf(qw: QuantizedWeight): DType {
  const signed = !qw.zeroPoint;
  return qw.bits === 4 ? (signed ? 'int4' : 'uint4') : signed ? 'int8' : 'uint8';
}

/**
 * A conv kernel [C_out, C_in, kh, kw] from codes laid out for its im2col view [K, C_out]: the codes
 * go back to the kernel's layout, then per-tensor or per output channel (axis 0) DequantizeLinear
 * feeds the Conv directly; blocks run along K, which ONNX can only block as one axis, so blocked
 * codes dequantize as [C_out, K] (blocks along axis 1) and are reshaped to the kernel.
 */
function dequantizedKernel(g: Graph, qw: QuantizedWeight): Tensor {
  const shape = qw.shape!;
  const [k, out] = qw.dims;
  const codeType = codeTypeOf(qw);
  const q = transposeMatrix(qw.q, k, out);
  if (qw.granularity !== 'block') {
    const scaleDims = qw.granularity === 'per-tensor' ? [] : [out];
    const inputs = [g.constant(q, shape, codeType), g.constant(qw.scale, scaleDims, 'float32')];
    if (qw.zeroPoint) inputs.push(g.constant(qw.zeroPoint, scaleDims, codeType));
    return g.node('DequantizeLinear', inputs, { dims: shape, dtype: 'float32' }, qw.granularity === 'per-tensor' ? {} : { axis: 0 });
  }
  const blocks = groupCount(qw, qw.dims) / out;
  // Scales and zero points are laid out [blocks, C_out]; blocked DequantizeLinear along axis 1 of [C_out, K] wants [C_out, blocks].
  const inputs = [g.constant(q, [out, k], codeType), g.constant(transposeMatrix(qw.scale, blocks, out), [out, blocks], 'float32')];
  if (qw.zeroPoint) inputs.push(g.constant(transposeMatrix(qw.zeroPoint, blocks, out), [out, blocks], codeType));
  const flat = g.node('DequantizeLinear', inputs, { dims: [out, k], dtype: 'float32' }, { axis: 1, block_size: qw.blockSize! });
  return reshape(flat, shape);
}

/** How the MatMuls by one weight are rebuilt: activations quantized, and/or MatMulNBits. */
interface LayerRewrite {
  name: string;
  nbits?: QuantizedWeight;
  activation?: ActivationQuant;
}

function checkMatMulNBits(name: string, nbits: QuantizedWeight): void {
  if (nbits.blockBits)
    throw new Error(`quantized weight '${name}': a mixed-precision weight (blockBits) has no MatMulNBits form; use format 'qdq'`);
  if (nbits.granularity !== 'block')
    throw new Error(
      `quantized weight '${name}': format 'matmulnbits' needs block granularity, got '${nbits.granularity}'; use format 'qdq'`,
    );
  const size = nbits.blockSize!;
  if (size < 16 || (size & (size - 1)) !== 0)
    throw new Error(`quantized weight '${name}': MatMulNBits needs a power-of-two blockSize >= 16, got ${size}`);
}

/**
 * One linear layer's MatMul [a, weight] -> `out`, rebuilt in `g`: the left operand is quantized
 * (QuantizeLinear + DequantizeLinear) when the weight has activation quantization, and the MatMul
 * becomes com.microsoft MatMulNBits when the weight is packed for it (the weight's
 * DequantizeLinear, then unused, is pruned on serialization).
 */
function quantizedMatMul(g: Graph, inputs: (Tensor | undefined)[], out: Tensor, rewrite: LayerRewrite, accuracyLevel: number): Tensor {
  const [input, weight] = inputs;
  const a = rewrite.activation ? quantizeDequantize(g, input!, rewrite.activation) : input;
  if (!rewrite.nbits) return g.node('MatMul', [a, weight], out);
  const qw = rewrite.nbits;
  const [K, N] = qw.dims;
  const packed = packMatMulNBits(qw);
  const b = g.constant(packed.b, [N, packed.blocks, packed.blobSize], 'uint8');
  const scales = g.constant(packed.scales, [N * packed.blocks], 'float32');
  const zeroPoints = packed.zeroPoints ? g.constant(packed.zeroPoints, [packed.zeroPoints.length], 'uint8') : undefined;
  return g.node(
    'MatMulNBits',
    zeroPoints ? [a, b, scales, zeroPoints] : [a, b, scales],
    out,
    { K, N, bits: qw.bits, block_size: qw.blockSize!, accuracy_level: accuracyLevel },
    'com.microsoft',
  );
}

function quantizeDequantize(g: Graph, t: Tensor, a: ActivationQuant): Tensor {
  const type: DType = a.signed ? 'int8' : 'uint8';
  const scale = g.constant([a.scale], [], 'float32');
  const zero = g.constant(a.signed ? new Int8Array([a.zeroPoint]) : new Uint8Array([a.zeroPoint]), [], type);
  const q = g.node('QuantizeLinear', [t, scale, zero], { dims: t.dims, dtype: type });
  return g.node('DequantizeLinear', [q, scale, zero], { dims: t.dims, dtype: 'float32' });
}

/**
 * A weight with activation quantization that the forward never multiplied would silently run
 * unquantized activations; say so. (A MatMulNBits weight used otherwise, e.g. an embedding
 * table, keeps its DequantizeLinear: the same values, computed the portable way.)
 */
function assertActivationsRewritten(rewrites: Map<Tensor, LayerRewrite>, layers: Map<Op, LayerRewrite>): void {
  const used = new Set(layers.values());
  const missed = [...rewrites.values()].filter((w) => !used.has(w) && w.activation).map((w) => w.name);
  if (missed.length)
    throw new Error(
      `weights ${missed.join(', ')} are not the right operand of a MatMul in this model: activation quantization applies only there; leave them out of activations`,
    );
}

function validateActivationQuant(name: string, a: ActivationQuant, model: Model): void {
  paramSpec(model, name);
  const { min: lo, max: hi } = codeRange(8, a.signed);
  if (!(a.scale > 0) || !Number.isFinite(a.scale))
    throw new Error(`activation quantization of '${name}': scale must be positive, got ${a.scale}`);
  if (!Number.isInteger(a.zeroPoint) || a.zeroPoint < lo || a.zeroPoint > hi)
    throw new Error(`activation quantization of '${name}': zeroPoint must be an integer in [${lo}, ${hi}], got ${a.zeroPoint}`);
}

/**
 * MatMulNBits layout (onnxruntime contrib op): B is the transposed weight [N, blocks, blobSize],
 * codes unsigned, packed low bits first (two 4-bit codes per byte); scales [N * blocks];
 * zero points packed the same way per row of N, absent = the default 2^(bits-1), which is exactly
 * what a signed (symmetric) code offset by 2^(bits-1) needs. A partial last block is padded with
 * the code of zero.
 */
export function packMatMulNBits(qw: QuantizedWeight): {
  b: Uint8Array;
  blocks: number;
  blobSize: number;
  scales: Float32Array;
  zeroPoints?: Uint8Array;
} {
  const [K, N] = qw.dims;
  const size = qw.blockSize!;
  const blocks = Math.ceil(K / size);
  const blobSize = (size * qw.bits) / 8;
  const offset = qw.zeroPoint ? 0 : -codeRange(qw.bits, true).min; // signed codes, shifted to unsigned
  const b = new Uint8Array(N * blocks * blobSize);
  const put = (buf: Uint8Array, index: number, value: number) => {
    if (qw.bits === 8) buf[index] = value;
    else buf[index >> 1] |= (value & 0xf) << ((index & 1) * 4);
  };
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let blk = 0; blk < blocks; blk++) {
      const g = blk * N + n;
      scales[n * blocks + blk] = qw.scale[g];
      const zero = qw.zeroPoint ? qw.zeroPoint[g] : offset;
      for (let i = 0; i < size; i++) {
        const k = blk * size + i;
        put(b, (n * blocks + blk) * size + i, k < K ? qw.q[k * N + n] + offset : zero);
      }
    }
  }
  if (!qw.zeroPoint) return { b, blocks, blobSize, scales };
  const perRow = qw.bits === 4 ? Math.ceil(blocks / 2) : blocks;
  const zeroPoints = new Uint8Array(N * perRow);
  for (let n = 0; n < N; n++)
    for (let blk = 0; blk < blocks; blk++) put(zeroPoints, n * perRow * (8 / qw.bits) + blk, qw.zeroPoint[blk * N + n]);
  return { b, blocks, blobSize, scales, zeroPoints };
}
