import { assertTensorData, type TensorMap } from '../tensor';
import type { Graph } from './graph';
import type { Tensor } from './tensor';

/**
 * Parameter (or buffer) `name` of `params` as a float32 constant of `g`, checked against the dims
 * the model declares: how an exported or analysed forward reads trained values.
 */
export function floatConstant(g: Graph, name: string, dims: number[], params: TensorMap): Tensor {
  const t = params[name];
  if (!t) throw new Error(`buildInferenceModel: parameter '${name}' is missing from params`);
  assertTensorData(name, t);
  if (t.dims.join() !== dims.join())
    throw new Error(`buildInferenceModel: '${name}' has dims [${t.dims.join(', ')}], the model expects [${dims.join(', ')}]`);
  return g.constant(t.data, dims, 'float32');
}
