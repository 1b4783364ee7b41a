import type { FakeQuantScheme, Model, QuantizedWeight, TensorData } from '@retain/engine';

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
 * Codes of a [in, out] weight on steps learned by QAT (one per output channel), computed exactly
 * as the training forward computed them: round half to even of the float32 quotient w / step,
 * clamped to [-qmax, qmax]. So the exported model's weights are the ones training saw.
 */
export function quantizeOnSteps(weight: TensorData, step: TensorData, bits: 4 | 8): QuantizedWeight {
  const [rows, cols] = weight.dims;
  if (weight.dims.length !== 2 || step.dims.length !== 1 || step.dims[0] !== cols)
    throw new Error(`learned steps [${step.dims.join(', ')}] do not fit a per-channel grid of a [${weight.dims.join(', ')}] weight`);
  const qmax = 2 ** (bits - 1) - 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = roundHalfEven(Math.fround(weight.data[r * cols + c] / step.data[c]));
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, code));
    }
  }
  return { bits, dims: [rows, cols], granularity: 'per-channel', q, scale: Float32Array.from(step.data) };
}

/** ONNX Round: to nearest, ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
