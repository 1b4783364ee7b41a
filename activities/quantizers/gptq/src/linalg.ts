import { eventLoopPauser } from '@retain/engine';

// Small dense linear algebra for GPTQ, in float64. Sizes are layer widths (hundreds): plain O(n^3)
// loops, up to a second each, so they give the event loop a turn now and then (activity heartbeats).
// Under jest (a vm context) global lookups in hot loops are slow.
const { sqrt } = Math;

/** Lower-triangular L with A = L L^T, for a symmetric positive definite n x n A (row-major). */
export async function cholesky(a: Float64Array, n: number): Promise<Float64Array> {
  const l = new Float64Array(n * n);
  const pause = eventLoopPauser();
  for (let i = 0; i < n; i++) {
    await pause();
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: the matrix is not positive definite (pivot ${i} is ${s}); increase dampening`);
        l[i * n + i] = sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** A^-1 from A's Cholesky factor L: inverts L (forward substitution), then A^-1 = L^-T L^-1. */
export async function inverseFromCholesky(l: Float64Array, n: number): Promise<Float64Array> {
  const li = new Float64Array(n * n); // L^-1, lower triangular
  const pause = eventLoopPauser();
  for (let j = 0; j < n; j++) {
    await pause();
    li[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    await pause();
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

/** Upper-triangular U with A = U^T U (the transposed lower Cholesky factor). */
export async function upperCholesky(a: Float64Array, n: number): Promise<Float64Array> {
  const l = await cholesky(a, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l[i * n + j];
  return u;
}
