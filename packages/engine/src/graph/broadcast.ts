import type { Dim } from './tensor';

/**
 * Numpy broadcasting of two shapes. Symbolic dims broadcast with 1 or with the same name; a
 * symbolic dim against a size other than 1 is taken to be that size.
 */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[], what = 'broadcast'): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'number' && typeof y === 'string') out.push(x);
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else throw new Error(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i}: ${x} vs ${y})`);
  }
  return out;
}
