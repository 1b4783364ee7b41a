/** A dense float32 tensor in row-major order: what crosses the engine's API (params, state, batches). */
export interface TensorData {
  dims: number[];
  data: Float32Array;
}

/** Named tensors, e.g. every parameter and optimizer state of a model. */
export type TensorMap = Record<string, TensorData>;

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Checks that `t.data` holds exactly the number of elements `t.dims` describes. */
export function assertTensorData(name: string, t: TensorData): void {
  if (!isFloat32Array(t.data)) throw new Error(`tensor '${name}': data must be a Float32Array`);
  const n = numel(t.dims);
  if (t.data.length !== n) {
    throw new Error(`tensor '${name}': dims [${t.dims.join(', ')}] need ${n} values but data has ${t.data.length}`);
  }
}

/**
 * Realm-independent type test: arrays coming back from worker threads (or another vm context,
 * as under jest) fail `instanceof` against this context's constructors.
 */
export function isFloat32Array(x: unknown): x is Float32Array {
  return Object.prototype.toString.call(x) === '[object Float32Array]';
}

export function isBigInt64Array(x: unknown): x is BigInt64Array {
  return Object.prototype.toString.call(x) === '[object BigInt64Array]';
}
