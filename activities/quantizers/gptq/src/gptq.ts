import {
  eventLoopPauser,
  groupCount,
  groupIndexer,
  matrixOf,
  minMaxGrid,
  minMaxGrids,
  packWeight,
  quantizeValue,
  type GroupGrid,
  type QuantizedWeight,
  type QuantScheme,
  type TensorData,
} from '@retain/engine';
import { inverseFromCholesky, cholesky, upperCholesky } from './linalg';

// Under jest (a vm context) global lookups in hot loops are slow; alias them once.
const { min, max } = Math;

export interface GptqOptions {
  /** Fraction of the mean Hessian diagonal added to the diagonal. */
  dampening: number;
  /** Rows quantized before their accumulated error is applied to the remaining rows. */
  lazyBatch: number;
}

/**
 * H = 2/n X^T X (+ dampening) for layer inputs X [n, K]: the Hessian of the layer's squared
 * output error ||X W - X Q||^2 with respect to each output channel's weights.
 */
export async function layerHessian(inputs: Float32Array, n: number, k: number): Promise<Float64Array> {
  if (inputs.length !== n * k) throw new Error(`gptq: ${inputs.length} activation values are not ${n} examples of ${k} inputs`);
  const h = new Float64Array(k * k);
  const pause = eventLoopPauser();
  for (let s = 0; s < n; s++) {
    await pause();
    const row = s * k;
    for (let i = 0; i < k; i++) {
      const xi = inputs[row + i];
      if (xi === 0) continue; // ReLU activations are sparse
      const hi = i * k;
      for (let j = i; j < k; j++) h[hi + j] += xi * inputs[row + j];
    }
  }
  const f = 2 / n;
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) h[j * k + i] = h[i * k + j] = h[i * k + j] * f;
  return h;
}

/**
 * GPTQ (Frantar et al. 2023) for one [K, N] weight (y = x W): the K input rows are quantized one
 * after another; each row's rounding error, divided by the diagonal of the inverse Hessian's
 * upper Cholesky factor U, is pushed onto the rows not yet quantized through U, so they
 * compensate for it. Updates are applied within a lazy batch at once and to the rest after it.
 * Block grids are fitted to the error-updated rows when their block is reached, as in the
 * reference implementation; per-channel and per-tensor grids come from the original weight.
 */
export async function quantizeGptq(
  weight: TensorData,
  inputs: Float32Array,
  n: number,
  scheme: QuantScheme,
  options: GptqOptions,
): Promise<QuantizedWeight> {
  const dims = matrixOf('weight', weight);
  const [K, N] = dims;
  const h = await layerHessian(inputs, n, K);
  const pause = eventLoopPauser();
  const w = Float64Array.from(weight.data);
  // Inputs that are always zero carry no information: their rows cannot change the output.
  let diagMean = 0;
  for (let i = 0; i < K; i++) {
    if (h[i * K + i] === 0) {
      h[i * K + i] = 1;
      w.fill(0, i * N, (i + 1) * N);
    }
    diagMean += h[i * K + i] / K;
  }
  for (let i = 0; i < K; i++) h[i * K + i] += options.dampening * diagMean;
  const u = await upperCholesky(await inverseFromCholesky(await cholesky(h, K), K), K);

  const group = groupIndexer(scheme, dims);
  const grids: (GroupGrid | undefined)[] =
    scheme.granularity === 'block' ? new Array(groupCount(scheme, dims)) : minMaxGrids({ dims, data: Float32Array.from(w) }, scheme);
  const q = scheme.symmetric ? new Int8Array(K * N) : new Uint8Array(K * N);
  const batchErrors = new Float64Array(options.lazyBatch * N);

  for (let i1 = 0; i1 < K; i1 += options.lazyBatch) {
    const i2 = min(i1 + options.lazyBatch, K);
    for (let i = i1; i < i2; i++) {
      await pause();
      if (scheme.granularity === 'block' && i % scheme.blockSize! === 0)
        fitBlockGrids(w, i, min(i + scheme.blockSize!, K), N, scheme, grids, group);
      const d = u[i * K + i];
      const err = batchErrors.subarray((i - i1) * N, (i - i1 + 1) * N);
      for (let c = 0; c < N; c++) {
        const grid = grids[group(i, c)]!;
        const code = quantizeValue(w[i * N + c], grid);
        q[i * N + c] = code;
        err[c] = (w[i * N + c] - (code - grid.zero) * grid.scale) / d;
      }
      for (let j = i + 1; j < i2; j++) {
        const uij = u[i * K + j];
        if (uij === 0) continue;
        for (let c = 0; c < N; c++) w[j * N + c] -= err[c] * uij;
      }
    }
    // The lazy batch update: the whole batch's errors reach the remaining rows in one pass.
    for (let j = i2; j < K; j++) {
      await pause();
      for (let i = i1; i < i2; i++) {
        const uij = u[i * K + j];
        if (uij === 0) continue;
        const err = (i - i1) * N;
        for (let c = 0; c < N; c++) w[j * N + c] -= batchErrors[err + c] * uij;
      }
    }
  }
  return packWeight(scheme, dims, q, grids as GroupGrid[]);
}

function fitBlockGrids(
  w: Float64Array,
  from: number,
  to: number,
  cols: number,
  scheme: QuantScheme,
  grids: (GroupGrid | undefined)[],
  group: (row: number, col: number) => number,
): void {
  for (let c = 0; c < cols; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = from; r < to; r++) {
      lo = min(lo, w[r * cols + c]);
      hi = max(hi, w[r * cols + c]);
    }
    grids[group(from, c)] = minMaxGrid(lo, hi, scheme.bits, scheme.symmetric);
  }
}
