import { codesOnFixedGrid, gridsOf, quantizeRtn } from './grid';

/** Positions where two code arrays differ, as a share (what @retain/metrics' bucketCrossingRate computes). */
const crossing = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).filter((v, i) => v !== b[i]).length / a.length;

describe('codes on a fixed grid', () => {
  // int4 symmetric, one scale: qmax 7, so the first weights' scale is 0.7 / 7 = 0.1.
  const scheme = { bits: 4, granularity: 'per-tensor', symmetric: true } as const;
  const before = { dims: [1, 4], data: Float32Array.from([0.7, 0.26, -0.34, 0.1]) };
  // Only the largest weight moves, by 0.04: less than half a step (0.05), so it stays in bucket 7.
  const after = { dims: [1, 4], data: Float32Array.from([0.74, 0.26, -0.34, 0.1]) };

  it("sees no crossing when the scales change but no weight crosses a bucket of the first grid; each task's own grid sees one", () => {
    const first = quantizeRtn(before, scheme);
    const second = quantizeRtn(after, scheme);
    expect(Array.from(first.q)).toEqual([7, 3, -3, 1]);
    // Recomputed from the new maximum, the scale is 0.74 / 7: 0.26 now rounds to 2.
    expect(second.scale[0]).toBeCloseTo(0.74 / 7, 6);
    expect(Array.from(second.q)).toEqual([7, 2, -3, 1]);
    expect(crossing(first.q, second.q)).toBe(0.25);
    expect(Array.from(codesOnFixedGrid(before, first))).toEqual(Array.from(first.q));
    expect(crossing(codesOnFixedGrid(before, first), codesOnFixedGrid(after, first))).toBe(0);
  });

  it('counts a weight that moves across a bucket of the fixed grid, and clamps a weight beyond its range to the format', () => {
    const first = quantizeRtn(before, scheme);
    const moved = { dims: [1, 4], data: Float32Array.from([0.7, 0.36, -0.34, 1.5]) };
    expect(Array.from(codesOnFixedGrid(moved, first))).toEqual([7, 4, -3, 7]);
    // An asymmetric grid: unsigned codes around its zero point, over the format's whole range [0, 15].
    const asym = quantizeRtn(before, { ...scheme, symmetric: false });
    expect(gridsOf(asym)[0]).toMatchObject({ zero: asym.zeroPoint![0], min: 0, max: 15 });
    expect(Array.from(codesOnFixedGrid(before, asym))).toEqual(Array.from(asym.q));
  });

  it('refuses a weight of other dims than the grid was made for', () => {
    const first = quantizeRtn(before, scheme);
    expect(() => codesOnFixedGrid({ dims: [2, 2], data: before.data }, first)).toThrow(
      /the weight is \[2, 2\], the grid was made for \[1, 4\]/,
    );
  });
});
