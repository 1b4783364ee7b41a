import { dequantize, quantizeRtn, Rng, type QuantScheme } from '@retain/engine';
import { hqqQuantizer, quantizeHqq, shrinkLp } from './index';

const options = hqqQuantizer.configSchema.parse({});

/** Laplace-like weights (heavier tails than a normal, as trained weights have), [256, 16]. */
function heavyTailed(seed: number) {
  const rng = new Rng(seed);
  return {
    dims: [256, 16],
    data: Float32Array.from({ length: 256 * 16 }, () => 0.05 * Math.log(rng.float() + 1e-12) * (rng.float() < 0.5 ? -1 : 1)),
  };
}

const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('hqq', () => {
  it('shrinkLp zeroes small errors and keeps large ones nearly whole (the lp proximal step)', () => {
    expect(shrinkLp(0, 10, 0.7)).toBe(0);
    expect(shrinkLp(0.01, 10, 0.7)).toBe(0); // 0.01^-0.3 / 10 = 0.4 > 0.01
    expect(shrinkLp(-0.01, 10, 0.7)).toBe(-0);
    expect(shrinkLp(5, 10, 0.7)).toBeCloseTo(5 - 5 ** -0.3 / 10, 12);
    expect(shrinkLp(-5, 10, 0.7)).toBeCloseTo(-(5 - 5 ** -0.3 / 10), 12);
  });

  test.each([
    ['int4 block64', { bits: 4, symmetric: false, granularity: 'block', blockSize: 64 }],
    ['int4 per-channel', { bits: 4, symmetric: false, granularity: 'per-channel' }],
    ['int8 block32', { bits: 8, symmetric: false, granularity: 'block', blockSize: 32 }],
  ] as [string, QuantScheme][])('%s: mean absolute weight error is below asymmetric RTN on heavy-tailed weights', async (_l, scheme) => {
    const w = heavyTailed(3);
    const rtn = meanAbs(dequantize(quantizeRtn(w, scheme)), w.data);
    const hqq = meanAbs(dequantize(await quantizeHqq(w, scheme, options)), w.data);
    // Measured (seed 3): int4 block64 0.00664 -> 0.00647, int4 per-channel 0.00895 -> 0.00826, int8 block32 3.32e-4 -> 3.21e-4.
    expect(hqq).toBeLessThan(rtn);
    // With a fixed min-max scale and integer zero points there is nothing to gain: RTN's zero is already the best integer.
    const zeroOnly = meanAbs(dequantize(await quantizeHqq(w, scheme, { ...options, optimizeScale: false })), w.data);
    expect(zeroOnly).toBe(rtn);
  });

  it('with optimizeScale, also improves a symmetric scheme', async () => {
    const w = heavyTailed(5);
    const scheme: QuantScheme = { bits: 4, symmetric: true, granularity: 'per-channel' };
    const rtn = meanAbs(dequantize(quantizeRtn(w, scheme)), w.data);
    const hqq = meanAbs(dequantize(await quantizeHqq(w, scheme, options)), w.data);
    expect(hqq).toBeLessThan(rtn);
  });

  it('refuses a symmetric scheme without optimizeScale, saying which option to change', async () => {
    await expect(
      quantizeHqq(heavyTailed(1), { bits: 4, symmetric: true, granularity: 'per-channel' }, { ...options, optimizeScale: false }),
    ).rejects.toThrow(/symmetric: false or optimizeScale: true/);
  });

  it('defaults to the paper (asymmetric int4, groups of 64, p = 0.7, beta 10, kappa 1.01, 20 iterations) plus scale refits', () => {
    expect(options).toMatchObject({
      bits: 4,
      granularity: 'block',
      blockSize: 64,
      symmetric: false,
      lpNorm: 0.7,
      beta: 10,
      kappa: 1.01,
      iterations: 20,
      optimizeScale: true,
    });
    expect(hqqQuantizer.label!(options)).toBe('hqq-int4-block64');
    expect(hqqQuantizer.configSchema.safeParse({ notAParameter: 1 }).success).toBe(false);
  });
});
