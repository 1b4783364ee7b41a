import { floatConstant, Graph, linearLayers, type Attr, type LinearLayer, type Tensor } from '../graph';
import { buffersOf, paramSpec, type Model } from '../models/model';
import { GraphSession } from '../runtime/graph-session';
import { numel, type TensorMap } from '../tensor';

/** Most im2col rows kept per conv weight: positions x examples grow fast (28 x 28 per image); evenly spaced rows bound the memory. */
export const MAX_CONV_ROWS = 65_536;

/** What im2col needs of a Conv node: its window and the shapes around it. */
interface ConvWindow {
  kernel: [number, number];
  stride: [number, number];
  pads: number[];
  dilation: [number, number];
  outDims: number[];
}

/**
 * The input activations [rows, in] of each matrix weight (rows = N, or N x positions for inputs
 * with more axes, e.g. a transformer's [N, T, in], flattened) of `head`'s forward pass on `x` (N examples),
 * and with `convPatches` of each conv kernel its im2col patches [rows, C_in * kh * kw] (rows = N x
 * output positions, at most MAX_CONV_ROWS evenly spaced ones), the inputs of its matrix view
 * (`matrixView`); computed by onnxruntime from `params` (pass dequantized values for weights
 * already quantized, as GPTQ does layer after layer). Keyed by weight name; a weight not used as a
 * MatMul's right operand (or, with `convPatches`, a one-group Conv's kernel) is absent.
 */
export async function captureLayerInputs(
  model: Model,
  head: number,
  params: TensorMap,
  x: Float32Array,
  n: number,
  options: { convPatches?: boolean } = {},
): Promise<Record<string, Float32Array>> {
  const features = numel(model.inputDims);
  if (x.length !== n * features)
    throw new Error(`captureLayerInputs: x has ${x.length} values; ${n} examples of [${model.inputDims.join(', ')}] need ${n * features}`);
  const g = new Graph(`${model.name}.layer-inputs.head${head}`);
  const xIn = g.input('x', ['B', ...model.inputDims]);
  const weights: Record<string, Tensor> = {};
  const watched = new Map<Tensor, string>();
  for (const name of model.paramsForHead(head)) {
    const dims = paramSpec(model, name).dims;
    weights[name] = floatConstant(g, name, dims, params);
    if (dims.length === 2 || (options.convPatches && dims.length === 4)) watched.set(weights[name], name);
  }
  for (const b of buffersOf(model)) weights[b.name] = floatConstant(g, b.name, b.dims, params);
  const logits = model.forward(g, weights, xIn, head);
  // The first layer by each weight; a grouped Conv has no single im2col matrix and is left out.
  const layers = new Map<string, LinearLayer>();
  for (const layer of linearLayers([logits], new Set(watched.keys()))) {
    const name = watched.get(layer.weight)!;
    if (!layers.has(name) && (layer.op.attrs.group ?? 1) === 1) layers.set(name, layer);
  }
  if (layers.size === 0) throw new Error(`captureLayerInputs: model '${model.name}' has no MatMul by a matrix weight`);
  for (const [name, layer] of layers) g.output(`input.${name}`, layer.input);
  const session = await GraphSession.create(g.toBytes());
  try {
    const out = await session.run({ x: { dtype: 'float32', dims: [n, ...model.inputDims], data: x } });
    return Object.fromEntries(
      [...layers].map(([name, layer]) => {
        const input = out[`input.${name}`];
        const values = input.data as Float32Array;
        return [name, layer.op.type === 'Conv' ? im2col(values, input.dims, convWindow(layer)) : values];
      }),
    );
  } finally {
    await session.close();
  }
}

function convWindow(layer: LinearLayer): ConvWindow {
  const { attrs } = layer.op;
  const pair = (v: Attr | undefined) => (v ?? [1, 1]) as [number, number];
  return {
    kernel: attrs.kernel_shape as [number, number],
    stride: pair(attrs.strides),
    pads: (attrs.pads ?? [0, 0, 0, 0]) as number[],
    dilation: pair(attrs.dilations),
    outDims: layer.output.dims as number[],
  };
}

/**
 * The patches a Conv multiplies by its kernel: for each (example, output row, output column), the
 * C x kh x kw window of the zero-padded input in the kernel's own order, so that
 * output[n, o, y, x] = patch . kernel[o] (the im2col view). At most MAX_CONV_ROWS of the rows.
 */
export function im2col(x: Float32Array, dims: readonly number[], w: ConvWindow): Float32Array {
  const [n, c, h, wd] = dims;
  const [kh, kw] = w.kernel;
  const [ho, wo] = w.outDims.slice(2);
  const k = c * kh * kw;
  const total = n * ho * wo;
  const rows = Math.min(total, MAX_CONV_ROWS);
  const out = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const p = rows === total ? r : Math.floor((r * total) / rows);
    const ex = Math.floor(p / (ho * wo));
    const oy = Math.floor(p / wo) % ho;
    const ox = p % wo;
    let col = r * k;
    for (let ch = 0; ch < c; ch++) {
      const plane = (ex * c + ch) * h * wd;
      for (let i = 0; i < kh; i++) {
        const y = oy * w.stride[0] - w.pads[0] + i * w.dilation[0];
        for (let j = 0; j < kw; j++, col++) {
          const xx = ox * w.stride[1] - w.pads[1] + j * w.dilation[1];
          out[col] = y >= 0 && y < h && xx >= 0 && xx < wd ? x[plane + y * wd + xx] : 0;
        }
      }
    }
  }
  return out;
}
