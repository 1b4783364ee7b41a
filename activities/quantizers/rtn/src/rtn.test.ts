import { dequantize, quantizePerChannel } from './rtn';

function randomWeight(rows: number, cols: number, seed: number) {
  let s = seed;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = (s / 2 ** 31 - 0.5) * (1 + (i % cols)); // a different range per channel
  }
  return { dims: [rows, cols], data };
}

describe('rtn per-channel quantization', () => {
  for (const bits of [8, 4] as const) {
    it(`int${bits}: every weight is within half a step of its dequantized value`, () => {
      const w = randomWeight(64, 16, 7);
      const q = quantizePerChannel(w, bits);
      const back = dequantize(q, w.dims);
      for (let i = 0; i < w.data.length; i++) {
        const step = q.scale[i % 16];
        expect(Math.abs(back[i] - w.data[i])).toBeLessThanOrEqual(step / 2 + 1e-6 * step);
      }
    });

    it(`int${bits}: codes stay in the symmetric range and the channel maximum maps to qmax`, () => {
      const w = randomWeight(32, 8, 11);
      const qmax = 2 ** (bits - 1) - 1;
      const q = quantizePerChannel(w, bits);
      expect(Math.max(...Array.from(q.q, Math.abs))).toBe(qmax);
      for (const code of q.q) expect(Math.abs(code)).toBeLessThanOrEqual(qmax);
    });
  }

  it('an all-zero channel is represented exactly with a positive scale', () => {
    const w = { dims: [3, 2], data: new Float32Array([0, 1, 0, -2, 0, 0.5]) };
    const q = quantizePerChannel(w, 8);
    expect(q.scale[0]).toBeGreaterThan(0);
    expect(Array.from(dequantize(q, w.dims)).filter((_, i) => i % 2 === 0)).toEqual([0, 0, 0]);
  });

  it('rejects weights that are not matrices', () => {
    expect(() => quantizePerChannel({ dims: [4], data: new Float32Array(4) }, 8)).toThrow(/2-D weight/);
  });
});
