import { xoroshiro128plus, unsafeUniformIntDistribution, type RandomGenerator } from 'pure-rand';

/**
 * Hashes a seed and a path of labels into an independent uint32 seed (murmur3-style mixing over
 * the JSON text, so `deriveSeed(1, '2')` and `deriveSeed(1, 2)` differ). Every random stream in
 * a run is derived this way from the spec's seed, so it depends only on *what* it is for
 * (e.g. `deriveSeed(seed, 'init', 'trunk.0.weight')`), never on the order streams were created.
 */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  const text = JSON.stringify([seed, ...labels]);
  let h = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    let k = imul(text.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Module-level aliases: global lookups such as `Math.log` are slow inside vm contexts (jest runs
// tests in one), and these functions are on the hot path of initialisation and data shuffling.
const { log, sqrt, cos, imul, PI } = Math;

/** A seeded, mutable random stream (xoroshiro128+). Its state can be saved and restored exactly. */
export class Rng {
  private gen: RandomGenerator;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}`);
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** Restores a stream from `state()`, e.g. out of a checkpoint. */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0);
    rng.gen = xoroshiro128plus.fromState(state);
    return rng;
  }

  /** The full generator state (4 int32), enough to resume the stream bit-for-bit. */
  state(): number[] {
    return [...this.gen.getState()];
  }

  uint32(): number {
    return this.gen.unsafeNext() >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.uint32() >>> 5;
    const lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int needs a positive integer bound, got ${n}`);
    return unsafeUniformIntDistribution(0, n - 1, this.gen);
  }

  /** Standard normal (Box-Muller; the second variate is dropped so the state stays 4 words). */
  normal(): number {
    const u1 = 1 - this.float(); // (0, 1]: log stays finite
    const u2 = this.float();
    return sqrt(-2 * log(u1)) * cos(2 * PI * u2);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }
}
