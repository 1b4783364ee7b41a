import { GraphSession } from '../../runtime/graph-session';
import { Graph } from '../graph';
import { dropout } from './dropout';

async function masks(seeds: number[], n: number, p: number): Promise<Float32Array[]> {
  const g = new Graph('dropout');
  const x = g.input('x', ['B', n]);
  const seed = g.input('seed', [], 'int64');
  g.output('y', dropout(x, p, seed));
  const session = await GraphSession.create(g.toBytes());
  try {
    const ones = new Float32Array(2 * n).fill(1);
    const out = [];
    for (const s of seeds) {
      const r = await session.run({
        x: { dtype: 'float32', dims: [2, n], data: ones },
        seed: { dtype: 'int64', dims: [], data: new BigInt64Array([BigInt(s)]) },
      });
      out.push(r.y.data as Float32Array);
    }
    return out;
  } finally {
    await session.close();
  }
}

describe('dropout', () => {
  test('the mask is a function of the seed: same seed, same mask; another seed, another mask; rate p; kept values scaled by 1/(1-p)', async () => {
    const n = 5000;
    const [a, b, c] = await masks([7, 7, 8], n, 0.3);
    expect(Array.from(a)).toEqual(Array.from(b));
    const dropped = (m: Float32Array) => m.filter((v) => v === 0).length / m.length;
    // 10,000 Bernoulli(0.3) draws: std 0.0046, so +-0.015 is more than 3 std
    expect(Math.abs(dropped(a) - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(dropped(c) - 0.3)).toBeLessThan(0.015);
    expect(new Set(Array.from(a)).size).toBe(2);
    expect(a.find((v) => v !== 0)).toBeCloseTo(1 / 0.7, 6);
    // masks for two seeds agree only as often as independent ones would (0.7^2 + 0.3^2 = 0.58)
    const agree = a.filter((v, i) => (v === 0) === (c[i] === 0)).length / a.length;
    expect(Math.abs(agree - 0.58)).toBeLessThan(0.02);
  });

  test('p outside [0, 1) is rejected, naming p', () => {
    const g = new Graph('bad');
    expect(() => dropout(g.input('x', [2]), 1, g.input('seed', [], 'int64'))).toThrow(/p must be in \[0, 1\)/);
  });
});
