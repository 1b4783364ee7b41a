import { quantizeRtn, type QuantizedWeight, type TensorData } from '@retain/engine';

/** Symmetric per-output-channel RTN, the scheme of the first quantized results (kept for the training benchmark). */
export function quantizePerChannel(weight: TensorData, bits: 4 | 8): QuantizedWeight {
  return quantizeRtn(weight, { bits, granularity: 'per-channel', symmetric: true });
}
