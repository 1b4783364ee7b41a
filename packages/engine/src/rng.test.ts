import { deriveSeed, Rng } from './rng';

describe('Rng', () => {
  test('the same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 20 }, () => a.uint32());
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(xs);
  });

  test('state() and fromState() resume a stream exactly', () => {
    const a = new Rng(7);
    for (let i = 0; i < 13; i++) a.normal();
    const resumed = Rng.fromState(a.state());
    expect(Array.from({ length: 10 }, () => resumed.float())).toEqual(Array.from({ length: 10 }, () => a.float()));
  });

  test('float is in [0, 1), int in [0, n), normal has mean ~0 and variance ~1', () => {
    const r = new Rng(1);
    const n = 20000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      const k = r.int(5);
      expect(Number.isInteger(k) && k >= 0 && k < 5).toBe(true);
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });

  test('permutation contains every index once and depends on the seed', () => {
    const p = new Rng(3).permutation(100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(new Rng(3).permutation(100))).toEqual(Array.from(p));
    expect(Array.from(new Rng(4).permutation(100))).not.toEqual(Array.from(p));
  });
});

describe('deriveSeed', () => {
  test('is a pure uint32 function of seed and labels, sensitive to each', () => {
    const s = deriveSeed(1, 'init', 'trunk.0.weight');
    expect(s).toBe(deriveSeed(1, 'init', 'trunk.0.weight'));
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    const others = [
      deriveSeed(2, 'init', 'trunk.0.weight'),
      deriveSeed(1, 'init', 'trunk.0.bias'),
      deriveSeed(1, 'init'),
      deriveSeed(1, 'init', 'trunk.0', 'weight'),
      deriveSeed(1, 2),
      deriveSeed(1, '2'),
    ];
    expect(new Set([s, ...others]).size).toBe(others.length + 1);
  });
});
