import { deriveSeed, Rng } from '../rng';
import { numel, type TensorMap } from '../tensor';
import { buffersOf, type BufferSpec, type Model, type ParamSpec } from './model';

/**
 * Deterministic initial parameters. Each parameter draws from its own stream
 * deriveSeed(seed, 'init', name), so adding a head or a layer leaves the others unchanged.
 * He normal: std sqrt(2 / fan_in); Xavier (Glorot) normal: std sqrt(2 / (fan_in + fan_out));
 * normal: std as given (0.02 by default, GPT-2's embeddings); zeros and ones: constants.
 * Buffers (batch-norm statistics, dropout seeds) are initialised here too; 'seed' draws an integer < 2^24.
 */
export function initParams(model: Model, seed: number): TensorMap {
  const out: TensorMap = {};
  for (const spec of [...model.params, ...buffersOf(model)]) out[spec.name] = initParam(spec, seed);
  return out;
}

export function initParam(spec: ParamSpec | BufferSpec, seed: number): { dims: number[]; data: Float32Array } {
  const n = numel(spec.dims);
  const data = new Float32Array(n);
  if (spec.init === 'ones') data.fill(1);
  else if (spec.init === 'seed') data.fill(deriveSeed(seed, 'init', spec.name) % 2 ** 24);
  else if (spec.init !== 'zeros') {
    const fanIn = spec.fanIn ?? (spec.dims.length > 1 ? spec.dims[0] : 1);
    const fanOut = spec.fanOut ?? spec.dims[spec.dims.length - 1];
    const std = spec.init === 'normal' ? (spec.std ?? 0.02) : spec.init === 'he' ? Math.sqrt(2 / fanIn) : Math.sqrt(2 / (fanIn + fanOut));
    const rng = new Rng(deriveSeed(seed, 'init', spec.name));
    for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  }
  return { dims: [...spec.dims], data };
}
