import { codeRange, type FakeQuantScheme, type Model, type QuantizedWeight, type TensorData } from '@retain/engine';

/** The RTN settings quantization-aware training reads. */
interface RtnScheme {
  bits: 4 | 8;
  granularity: string;
  blockSize?: number;
  symmetric: boolean;
}

/**
 * RTN's training transform: every matrix weight (the ones `quantize` quantizes) through a
 * symmetric fake quantizer of the same width and granularity. Per-tensor grids are left out on
 * purpose (one step for a whole matrix is rarely what one trains for), and so are asymmetric
 * ones (a learned zero point is not part of LSQ as implemented here).
 */
export function rtnTrainingTransform(config: RtnScheme, model: Model): Record<string, FakeQuantScheme> {
  if (!config.symmetric) throw new Error('symmetric: quantization-aware training supports symmetric RTN only; set symmetric: true');
  if (config.granularity !== 'per-channel' && config.granularity !== 'block')
    throw new Error(`granularity: quantization-aware training supports 'per-channel' and 'block', got '${config.granularity}'`);
  const scheme: FakeQuantScheme = {
    bits: config.bits,
    granularity: config.granularity,
    ...(config.granularity === 'block' ? { blockSize: config.blockSize } : {}),
  };
  return Object.fromEntries(model.params.filter((p) => p.dims.length === 2).map((p) => [p.name, scheme]));
}

/**
 * Codes of a [in, out] weight on steps learned by QAT, computed exactly as the training forward
 * computed them: round half to even of the float32 quotient w / step, clamped to [-qmax, qmax].
 * So the exported model's weights are the ones training saw. The steps' dims say the grid: [out]
 * is one step per output channel, [ceil(in / blockSize), out] one per block of `blockSize` rows.
 */
export function quantizeOnSteps(weight: TensorData, step: TensorData, bits: 4 | 8, blockSize?: number): QuantizedWeight {
  const [rows, cols] = weight.dims;
  const perChannel = step.dims.length === 1 && step.dims[0] === cols;
  const blocks = blockSize ? Math.ceil(rows / blockSize) : 0;
  const perBlock = blockSize !== undefined && step.dims.length === 2 && step.dims[0] === blocks && step.dims[1] === cols;
  if (weight.dims.length !== 2 || (!perChannel && !perBlock))
    throw new Error(
      `learned steps [${step.dims.join(', ')}] fit neither a per-channel [${cols}] nor a block grid [${blockSize ? `${blocks}, ${cols}` : 'blocks, out'}] of a [${weight.dims.join(', ')}] weight`,
    );
  const qmax = codeRange(bits, true).max;
  const size = perChannel ? rows : blockSize!;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / size) * cols; // 0 per channel: the step of column c is step[c]
    for (let c = 0; c < cols; c++) {
      const code = roundHalfEven(Math.fround(weight.data[r * cols + c] / step.data[base + c]));
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, code));
    }
  }
  const scale = Float32Array.from(step.data);
  return perChannel
    ? { bits, dims: [rows, cols], granularity: 'per-channel', q, scale }
    : { bits, dims: [rows, cols], granularity: 'block', blockSize, q, scale };
}

/** ONNX Round: to nearest, ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
