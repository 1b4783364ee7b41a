import { codeRange, dequantize, groupIndexer, quantizeRtn, type QuantScheme } from '@retain/engine';
import { rtnQuantizer } from './index';

function randomWeight(rows: number, cols: number, seed: number) {
  let s = seed;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    // a different range and offset per channel, so per-tensor, per-channel and asymmetric grids differ
    data[i] = (s / 2 ** 31 - 0.3) * (1 + (i % cols));
  }
  return { dims: [rows, cols], data };
}

const schemes: QuantScheme[] = [];
for (const bits of [8, 4] as const)
  for (const symmetric of [true, false]) {
    schemes.push({ bits, symmetric, granularity: 'per-tensor' });
    schemes.push({ bits, symmetric, granularity: 'per-channel' });
    for (const blockSize of [32, 64, 128]) schemes.push({ bits, symmetric, granularity: 'block', blockSize });
  }
const label = (s: QuantScheme) => `int${s.bits} ${s.granularity}${s.blockSize ?? ''} ${s.symmetric ? 'symmetric' : 'asymmetric'}`;

describe('rtn round trip', () => {
  // 200 rows: not a multiple of any block size, so every case has a partial last block.
  const w = randomWeight(200, 12, 7);

  test.each(schemes.map((s) => [label(s), s] as const))('%s: every weight is within half a step of its dequantized value', (_l, scheme) => {
    const q = quantizeRtn(w, scheme);
    const back = dequantize(q);
    const group = groupIndexer(scheme, [200, 12]);
    let worst = 0;
    let beyondBound = 0;
    for (let r = 0; r < 200; r++)
      for (let c = 0; c < 12; c++) {
        const i = r * 12 + c;
        const step = q.scale[group(r, c)];
        const error = Math.abs(back[i] - w.data[i]);
        // half a step, plus float32 rounding of the product (relative 2^-23 of the value)
        if (error > step / 2 + 2 ** -23 * Math.abs(w.data[i])) beyondBound++;
        worst = Math.max(worst, error / step);
      }
    expect(beyondBound).toBe(0);
    expect(worst).toBeGreaterThan(0.4); // the bound is tight: some weight sits near a bucket edge
  });

  test.each(schemes.map((s) => [label(s), s] as const))('%s: codes stay in range and each group uses its range end', (_l, scheme) => {
    const q = quantizeRtn(w, scheme);
    const { min, max } = codeRange(scheme.bits, scheme.symmetric);
    const codes = Array.from(q.q);
    expect(Math.min(...codes)).toBeGreaterThanOrEqual(scheme.symmetric ? min + 1 : min); // symmetric codes never use -2^(b-1)
    expect(Math.max(...codes)).toBeLessThanOrEqual(max);
    expect(q.zeroPoint === undefined).toBe(scheme.symmetric);
    expect(q.scale.length).toBe(
      scheme.granularity === 'per-tensor' ? 1 : scheme.granularity === 'per-channel' ? 12 : Math.ceil(200 / scheme.blockSize!) * 12,
    );
    expect(Math.max(...Array.from(q.q, (c) => (scheme.symmetric ? Math.abs(c) : c)))).toBe(max);
  });

  it('asymmetric grids represent zero exactly and finer than symmetric ones on one-sided weights', () => {
    const positive = { dims: [64, 4], data: Float32Array.from({ length: 256 }, (_, i) => ((i * 37) % 101) / 101) };
    const sym = quantizeRtn(positive, { bits: 4, symmetric: true, granularity: 'per-channel' });
    const asym = quantizeRtn(positive, { bits: 4, symmetric: false, granularity: 'per-channel' });
    expect(asym.scale[0]).toBeLessThan(sym.scale[0] * 0.55); // 15 steps over [0, max] instead of 7
    const zeroAt = Array.from(positive.data).indexOf(0);
    expect(dequantize(asym)[zeroAt]).toBe(0);
  });

  it('an all-zero group is represented exactly with a positive scale', () => {
    const w0 = { dims: [3, 2], data: new Float32Array([0, 1, 0, -2, 0, 0.5]) };
    for (const symmetric of [true, false]) {
      const q = quantizeRtn(w0, { bits: 8, symmetric, granularity: 'per-channel' });
      expect(q.scale[0]).toBeGreaterThan(0);
      expect(Array.from(dequantize(q)).filter((_, i) => i % 2 === 0)).toEqual([0, 0, 0]);
    }
  });

  it('rejects weights that are not matrices and block schemes without a block size', () => {
    expect(() => quantizeRtn({ dims: [4], data: new Float32Array(4) }, { bits: 8, symmetric: true, granularity: 'per-channel' })).toThrow(
      /2-D/,
    );
    expect(() => quantizeRtn(w, { bits: 8, symmetric: true, granularity: 'block' })).toThrow(/blockSize/);
  });
});

describe('rtn plugin config', () => {
  it('defaults to symmetric per-channel QDQ, labelled by what differs from the defaults', () => {
    const base = rtnQuantizer.configSchema.parse({ bits: 4 });
    expect(base).toMatchObject({ bits: 4, granularity: 'per-channel', symmetric: true, format: 'qdq' });
    expect(rtnQuantizer.label!(base)).toBe('rtn-int4');
    const block = rtnQuantizer.configSchema.parse({
      bits: 4,
      granularity: 'block',
      blockSize: 64,
      symmetric: false,
      format: 'matmulnbits',
    });
    expect(rtnQuantizer.label!(block)).toBe('rtn-int4-block64-asym-nbits');
  });

  it('refuses MatMulNBits without blocks and unknown block sizes, naming the field', () => {
    const format = rtnQuantizer.configSchema.safeParse({ bits: 4, format: 'matmulnbits' });
    expect(format.success).toBe(false);
    expect(format.error!.issues[0].path).toEqual(['format']);
    const size = rtnQuantizer.configSchema.safeParse({ bits: 4, granularity: 'block', blockSize: 48 });
    expect(size.error!.issues[0].path).toEqual(['blockSize']);
  });
});
