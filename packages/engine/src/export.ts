import { argmax, dequantizeLinear, Graph, type Tensor } from './graph';
import { buffersOf, paramSpec, type Model } from './models/model';
import { assertTensorData, type TensorMap } from './tensor';

/** A weight quantized symmetrically per output channel: w ~= q * scale[channel]. */
export interface QuantizedWeight {
  bits: 4 | 8;
  /** The output-channel axis (1 for [in, out] linear weights). */
  axis: number;
  /** One code per element, in [-8, 7] (4-bit) or [-128, 127] (8-bit), row-major like the weight. */
  q: Int8Array;
  /** One scale per output channel. */
  scale: Float32Array;
}

/**
 * A standalone inference model: input 'x' [B, ...inputDims], outputs 'logits' and 'pred', weights
 * as initializers so any ONNX runtime can load it. A quantized weight is stored as int8 or packed
 * int4 codes plus per-channel scales, dequantized (DequantizeLinear, opset 21) before its MatMul.
 */
export function buildInferenceModel(
  model: Model,
  head: number,
  params: TensorMap,
  quantized: Record<string, QuantizedWeight> = {},
): Uint8Array {
  const g = new Graph(`${model.name}.inference.head${head}`);
  const x = g.input('x', ['B', ...model.inputDims]);
  const weights: Record<string, Tensor> = {};
  for (const name of model.paramsForHead(head)) {
    const dims = paramSpec(model, name).dims;
    const qw = quantized[name];
    weights[name] = qw ? quantizedConstant(g, name, dims, qw) : floatConstant(g, name, dims, params);
  }
  for (const b of buffersOf(model)) weights[b.name] = floatConstant(g, b.name, b.dims, params); // batch-norm statistics stay float
  for (const name of Object.keys(quantized)) paramSpec(model, name); // a typo in a name should not pass silently
  const logits = model.forward(g, weights, x, head);
  g.output('pred', argmax(logits, 1));
  g.output('logits', logits);
  return g.toBytes({ 'retain.model': model.name, 'retain.head': String(head) });
}

function floatConstant(g: Graph, name: string, dims: number[], params: TensorMap): Tensor {
  const t = params[name];
  if (!t) throw new Error(`buildInferenceModel: parameter '${name}' is missing from params`);
  assertTensorData(name, t);
  if (t.dims.join() !== dims.join())
    throw new Error(`buildInferenceModel: '${name}' has dims [${t.dims.join(', ')}], the model expects [${dims.join(', ')}]`);
  return g.constant(t.data, dims, 'float32');
}

function quantizedConstant(g: Graph, name: string, dims: number[], qw: QuantizedWeight): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (qw.bits !== 4 && qw.bits !== 8) throw new Error(`quantized weight '${name}': bits must be 4 or 8, got ${qw.bits}`);
  if (qw.q.length !== n) throw new Error(`quantized weight '${name}': ${qw.q.length} codes for dims [${dims.join(', ')}] (${n} elements)`);
  const axis = qw.axis < 0 ? qw.axis + dims.length : qw.axis;
  if (axis < 0 || axis >= dims.length)
    throw new Error(`quantized weight '${name}': axis ${qw.axis} is out of range for dims [${dims.join(', ')}]`);
  if (qw.scale.length !== dims[axis])
    throw new Error(`quantized weight '${name}': ${qw.scale.length} scales, axis ${axis} has ${dims[axis]} channels`);
  const q = g.constant(qw.q, dims, qw.bits === 4 ? 'int4' : 'int8');
  return dequantizeLinear(q, g.constant(qw.scale, [qw.scale.length], 'float32'), axis);
}
