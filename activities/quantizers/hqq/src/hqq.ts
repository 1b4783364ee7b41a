import {
  eventLoopPauser,
  groupCount,
  groupIndexer,
  matrixOf,
  minMaxGrids,
  packWeight,
  quantizeValue,
  type GroupGrid,
  type QuantizedWeight,
  type QuantScheme,
  type TensorData,
} from '@retain/engine';

// Under jest (a vm context) global lookups in hot loops are slow; alias them once.
const { abs, round, min, max, fround, sign } = Math;

export interface HqqOptions {
  lpNorm: number;
  beta: number;
  kappa: number;
  iterations: number;
  optimizeScale: boolean;
}

/**
 * Half-quadratic quantization of one [in, out] weight, group by group, with no data.
 * Starting from the min-max grid, it alternates (Badri & Shaji 2023, Alg. 1):
 *   codes  q   = clamp(round(W / s + z))
 *   error  W_e = shrink_p(W - (q - z) s, beta)   the lp (p < 1) proximal step: outliers are kept
 *   zero   z   = mean(q - (W - W_e) / s)          the quadratic subproblem, closed form
 *   beta  *= kappa
 * and, with optimizeScale, refits (s, z) by least squares of (W - W_e) on q instead.
 * Stored zero points are integers (ONNX zero points have the codes' type; HQQ's own `round_zero`
 * option), so each iterate is judged after rounding z, and each group keeps the iterate with the
 * smallest mean absolute weight error (HQQ's own stopping criterion) - never worse than the start.
 */
export async function quantizeHqq(weight: TensorData, scheme: QuantScheme, options: HqqOptions): Promise<QuantizedWeight> {
  if (scheme.symmetric && !options.optimizeScale)
    throw new Error(`hqq: a symmetric scheme has no zero point to optimize; set symmetric: false or optimizeScale: true`);
  const dims = matrixOf('weight', weight);
  const members = groupMembers(scheme, dims);
  const grids = minMaxGrids(weight, scheme);
  const w = weight.data;
  const q = scheme.symmetric ? new Int8Array(w.length) : new Uint8Array(w.length);
  const pause = eventLoopPauser();
  for (let g = 0; g < members.length; g++) {
    const idx = members[g];
    const best = optimizeGroup(
      Float64Array.from(idx, (i) => w[i]),
      grids[g],
      scheme.symmetric,
      options,
    );
    grids[g] = best;
    for (const i of idx) q[i] = quantizeValue(w[i], best);
    await pause();
  }
  return packWeight(scheme, dims, q, grids);
}

function optimizeGroup(w: Float64Array, start: GroupGrid, symmetric: boolean, o: HqqOptions): GroupGrid {
  const n = w.length;
  let best = start;
  let bestError = meanAbsError(w, start);
  let scale = start.scale;
  let zero = start.zero; // float while optimizing
  let beta = o.beta;
  const codes = new Float64Array(n);
  const target = new Float64Array(n);
  for (let it = 0; it < o.iterations; it++) {
    for (let i = 0; i < n; i++) {
      codes[i] = min(start.max, max(start.min, round(w[i] / scale + zero)));
      const residual = w[i] - (codes[i] - zero) * scale;
      target[i] = w[i] - shrinkLp(residual, beta, o.lpNorm); // W - W_e
    }
    if (o.optimizeScale) [scale, zero] = leastSquaresGrid(codes, target, symmetric, scale, zero);
    else {
      let s = 0;
      for (let i = 0; i < n; i++) s += codes[i] - target[i] / scale;
      zero = s / n;
    }
    beta *= o.kappa;
    const candidate: GroupGrid = {
      scale: fround(scale),
      zero: symmetric ? 0 : min(start.max, max(start.min, round(zero))),
      min: start.min,
      max: start.max,
    };
    const error = meanAbsError(w, candidate);
    if (error < bestError) {
      best = candidate;
      bestError = error;
    }
  }
  return best;
}

/** Proximal operator of the lp norm (p < 1), generalized soft thresholding: sign(x) max(0, |x| - |x|^(p-1) / beta). */
export function shrinkLp(x: number, beta: number, p: number): number {
  const a = abs(x);
  if (a === 0) return 0;
  return sign(x) * max(0, a - a ** (p - 1) / beta);
}

/** Least squares target ~ (codes - z) s, i.e. a line s * codes + b with z = -b / s; symmetric keeps z = 0. */
function leastSquaresGrid(codes: Float64Array, target: Float64Array, symmetric: boolean, scale: number, zero: number): [number, number] {
  const n = codes.length;
  if (symmetric) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      num += codes[i] * target[i];
      den += codes[i] * codes[i];
    }
    return den > 0 && num > 0 ? [num / den, 0] : [scale, zero];
  }
  let mc = 0;
  let mt = 0;
  for (let i = 0; i < n; i++) {
    mc += codes[i];
    mt += target[i];
  }
  mc /= n;
  mt /= n;
  let cov = 0;
  let varc = 0;
  for (let i = 0; i < n; i++) {
    cov += (codes[i] - mc) * (target[i] - mt);
    varc += (codes[i] - mc) ** 2;
  }
  if (!(varc > 0) || !(cov > 0)) return [scale, zero]; // degenerate group: keep the grid
  const s = cov / varc;
  return [s, -(mt - s * mc) / s];
}

function meanAbsError(w: Float64Array, grid: GroupGrid): number {
  let e = 0;
  for (let i = 0; i < w.length; i++) e += abs(w[i] - fround((quantizeValue(w[i], grid) - grid.zero) * grid.scale));
  return e / w.length;
}

/** Element indices of each group. */
function groupMembers(scheme: QuantScheme, dims: [number, number]): Int32Array[] {
  const [rows, cols] = dims;
  const group = groupIndexer(scheme, dims);
  const counts = new Int32Array(groupCount(scheme, dims));
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) counts[group(r, c)]++;
  const members = Array.from(counts, (n) => new Int32Array(n));
  counts.fill(0);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const g = group(r, c);
      members[g][counts[g]++] = r * cols + c;
    }
  return members;
}
