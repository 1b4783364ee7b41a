import { Graph, type Attr, type Dim, type Tensor } from '../graph';
import type { DType } from '../onnx/proto';
import { floatConstant } from '../export';
import { buffersOf, paramSpec, type Model } from '../models/model';
import { GraphSession } from '../runtime/graph-session';
import type { TensorMap } from '../tensor';

/**
 * Records, while a model's forward is built, the left operand of every MatMul whose right operand
 * is a watched weight: the input activations of that linear layer. The forward stays the model's
 * own code; only the graph it writes into differs.
 */
class LayerInputGraph extends Graph {
  readonly layerInputs = new Map<string, Tensor>();

  constructor(
    name: string,
    private readonly watched: Map<Tensor, string>,
  ) {
    super(name);
  }

  override node(
    opType: string,
    inputs: (Tensor | undefined)[],
    out: { dims: Dim[]; dtype: DType },
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Tensor {
    const weight = opType === 'MatMul' && inputs[1] ? this.watched.get(inputs[1]) : undefined;
    if (weight && inputs[0] && inputs[0].rank >= 2 && !this.layerInputs.has(weight)) this.layerInputs.set(weight, inputs[0]);
    return super.node(opType, inputs, out, attrs, domain);
  }
}

/**
 * The input activations [rows, in] of each matrix weight (rows = N, or N x positions for inputs
 * with more axes, e.g. a transformer's [N, T, in], flattened) of `head`'s forward pass on `x` (N examples),
 * computed by onnxruntime from `params` (pass dequantized values for weights already quantized,
 * as GPTQ does layer after layer). Keyed by weight name; a weight not used as a MatMul's right
 * operand is absent.
 */
export async function captureLayerInputs(
  model: Model,
  head: number,
  params: TensorMap,
  x: Float32Array,
  n: number,
): Promise<Record<string, Float32Array>> {
  const features = model.inputDims.reduce((a, b) => a * b, 1);
  if (x.length !== n * features)
    throw new Error(`captureLayerInputs: x has ${x.length} values; ${n} examples of [${model.inputDims.join(', ')}] need ${n * features}`);
  const watched = new Map<Tensor, string>();
  const g = new LayerInputGraph(`${model.name}.layer-inputs.head${head}`, watched);
  const xIn = g.input('x', ['B', ...model.inputDims]);
  const weights: Record<string, Tensor> = {};
  for (const name of model.paramsForHead(head)) {
    const dims = paramSpec(model, name).dims;
    weights[name] = floatConstant(g, name, dims, params);
    if (dims.length === 2) watched.set(weights[name], name);
  }
  for (const b of buffersOf(model)) weights[b.name] = floatConstant(g, b.name, b.dims, params);
  model.forward(g, weights, xIn, head);
  if (g.layerInputs.size === 0) throw new Error(`captureLayerInputs: model '${model.name}' has no MatMul by a matrix weight`);
  for (const [name, t] of g.layerInputs) g.output(`input.${name}`, t);
  const session = await GraphSession.create(g.toBytes());
  try {
    const out = await session.run({ x: { dtype: 'float32', dims: [n, ...model.inputDims], data: x } });
    return Object.fromEntries([...g.layerInputs.keys()].map((name) => [name, out[`input.${name}`].data as Float32Array]));
  } finally {
    await session.close();
  }
}
