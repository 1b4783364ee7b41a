import { dequantize, quantizeRtn, Rng, type QuantScheme } from '@retain/engine';
import { cholesky, gptqQuantizer, inverseFromCholesky, layerHessian, quantizeGptq, upperCholesky } from './index';

const config = gptqQuantizer.configSchema.parse({});

/** Correlated inputs [n, k] (a shared latent factor plus noise, half of them ReLU-sparse) and a weight [k, m]. */
function layer(seed: number, n: number, k: number, m: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * k);
  for (let s = 0; s < n; s++) {
    const latent = rng.normal();
    for (let i = 0; i < k; i++) x[s * k + i] = Math.max(0, latent * (i % 3) * 0.5 + rng.normal());
  }
  const w = { dims: [k, m], data: Float32Array.from({ length: k * m }, () => 0.1 * rng.normal()) };
  return { x, w };
}

/** ||X W - X Q||_F^2 / n. */
function outputError(x: Float32Array, n: number, k: number, m: number, w: Float32Array, q: Float32Array): number {
  let e = 0;
  for (let s = 0; s < n; s++)
    for (let c = 0; c < m; c++) {
      let d = 0;
      for (let i = 0; i < k; i++) d += x[s * k + i] * (w[i * m + c] - q[i * m + c]);
      e += d * d;
    }
  return e / n;
}

describe('gptq linear algebra', () => {
  it('the Cholesky factor, the inverse and the upper factor reproduce their definitions', async () => {
    const { x } = layer(1, 64, 12, 1);
    const h = await layerHessian(x, 64, 12);
    for (let i = 0; i < 12; i++) h[i * 12 + i] += 0.01;
    const l = await cholesky(h, 12);
    const inv = await inverseFromCholesky(l, 12);
    const u = await upperCholesky(inv, 12);
    let worstLLt = 0;
    let worstIdentity = 0;
    let worstUtU = 0;
    for (let i = 0; i < 12; i++)
      for (let j = 0; j < 12; j++) {
        let llt = 0;
        let hinv = 0;
        let utu = 0;
        for (let k = 0; k < 12; k++) {
          llt += l[i * 12 + k] * l[j * 12 + k];
          hinv += h[i * 12 + k] * inv[k * 12 + j];
          utu += u[k * 12 + i] * u[k * 12 + j];
        }
        worstLLt = Math.max(worstLLt, Math.abs(llt - h[i * 12 + j]));
        worstIdentity = Math.max(worstIdentity, Math.abs(hinv - (i === j ? 1 : 0)));
        worstUtU = Math.max(worstUtU, Math.abs(utu - inv[i * 12 + j]));
        if (j > i) expect(l[i * 12 + j]).toBe(0);
      }
    expect(worstLLt).toBeLessThan(1e-10);
    expect(worstIdentity).toBeLessThan(1e-8);
    expect(worstUtU).toBeLessThan(1e-10);
  });

  it('a matrix that is not positive definite is refused with the remedy named', async () => {
    await expect(cholesky(new Float64Array([1, 2, 2, 1]), 2)).rejects.toThrow(/not positive definite.*dampening/);
  });
});

describe('gptq on correlated synthetic inputs', () => {
  const [n, k, m] = [256, 48, 8];
  const { x, w } = layer(2, n, k, m);
  test.each([
    ['int4 per-channel symmetric', { bits: 4, symmetric: true, granularity: 'per-channel' }],
    ['int4 block16 asymmetric', { bits: 4, symmetric: false, granularity: 'block', blockSize: 16 }],
    ['int8 per-tensor symmetric', { bits: 8, symmetric: true, granularity: 'per-tensor' }],
  ] as [string, QuantScheme][])('%s: output error ||XW - XQ|| is below RTN with lazy batches of any size', async (_l, scheme) => {
    const rtn = outputError(x, n, k, m, w.data, dequantize(quantizeRtn(w, scheme)));
    for (const lazyBatch of [1, 16, 128]) {
      const gptq = outputError(x, n, k, m, w.data, dequantize(await quantizeGptq(w, x, n, scheme, { ...config, lazyBatch })));
      expect(gptq).toBeLessThan(rtn);
    }
  });

  it('lazy batching changes only the order of the updates, not the result', async () => {
    const scheme: QuantScheme = { bits: 4, symmetric: true, granularity: 'per-channel' };
    const a = await quantizeGptq(w, x, n, scheme, { ...config, lazyBatch: 1 });
    const b = await quantizeGptq(w, x, n, scheme, { ...config, lazyBatch: 16 });
    const differing = Array.from(a.q).filter((v, i) => v !== b.q[i]).length;
    expect(differing).toBeLessThanOrEqual(2); // float64 summation order can flip a code sitting on a bucket edge
  });

  it('defaults to the paper: int4, 1% dampening, lazy batches of 128, sequential layers', () => {
    expect(config).toMatchObject({ bits: 4, dampening: 0.01, lazyBatch: 128, sequential: true, calibrationSize: 1024 });
    expect(gptqQuantizer.label!(gptqQuantizer.configSchema.parse({ granularity: 'block', blockSize: 32 }))).toBe('gptq-int4-block32');
  });
});
