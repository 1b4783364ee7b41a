import type { Tensor } from '../tensor';
import { mul } from './arith';
import { cast, shapeOf } from './nondiff';

// Dropout whose mask is a pure function of (seed, element index): a counter-based hash computed
// in the graph with int64 arithmetic, so the same seed gives the same mask on any machine and
// execution provider, and a resumed run that feeds the same per-step seed gets the same masks.

const TWO_32 = 2 ** 32;

/**
 * The "hash32" finaliser (x ^= x >> 16; x *= 0x45d9f3b, twice; x ^= x >> 16) on values < 2^32
 * held in int64: products stay below 2^59, so nothing overflows.
 */
function hash32(g: Tensor['graph'], x: Tensor): Tensor {
  const dims = { dims: x.dims, dtype: 'int64' as const };
  const c = (v: number) => g.scalar(v, 'int64');
  const xorShift = (v: Tensor) => g.node('BitwiseXor', [v, g.node('Div', [v, c(65536)], dims)], dims);
  const mulMod = (v: Tensor) => g.node('Mod', [g.node('Mul', [v, c(0x45d9f3b)], dims), c(TWO_32)], dims);
  return xorShift(mulMod(xorShift(mulMod(xorShift(x)))));
}

/**
 * A keep-mask of `x`'s shape (bool): element i is kept when
 * hash(hash(hash(i) xor seedLow) xor seedHigh) >= p * 2^32, where seedLow and seedHigh are the
 * low and high 32 bits of `seed`, a non-negative int64 scalar (e.g. a run seed and a step count).
 */
export function dropoutMask(x: Tensor, p: number, seed: Tensor): Tensor {
  if (seed.dtype !== 'int64' || seed.rank !== 0) throw new Error(`dropout: seed must be an int64 scalar, got ${seed}`);
  const g = x.graph;
  const i64 = (dims: Tensor['dims']) => ({ dims, dtype: 'int64' as const });
  const count = g.node('ReduceProd', [shapeOf(x)], i64([]), { keepdims: 0 });
  const index = g.node('Range', [g.scalar(0, 'int64'), count, g.scalar(1, 'int64')], i64(['?count']));
  const two32 = g.scalar(TWO_32, 'int64');
  const low = g.node('Mod', [seed, two32], i64([]), { fmod: 0 });
  const high = g.node('Mod', [g.node('Div', [seed, two32], i64([])), two32], i64([]), { fmod: 0 });
  const xor = (a: Tensor, b: Tensor) => g.node('BitwiseXor', [a, b], i64(['?count']));
  const mixed = hash32(g, xor(hash32(g, xor(hash32(g, index), low)), high));
  const keep = g.node('GreaterOrEqual', [mixed, g.scalar(Math.floor(p * TWO_32), 'int64')], { dims: ['?count'], dtype: 'bool' });
  return g.node('Reshape', [keep, shapeOf(x)], { dims: x.dims, dtype: 'bool' });
}

/**
 * Inverted dropout: zeroes each element with probability `p` and scales the rest by 1 / (1 - p),
 * so eval mode (no dropout) needs no rescaling. Gradient: the same mask and scale.
 */
export function dropout(x: Tensor, p: number, seed: Tensor): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  return mul(x, mul(cast(dropoutMask(x, p, seed), x.dtype), 1 / (1 - p)));
}
