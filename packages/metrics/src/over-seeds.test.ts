import { statOverSeeds } from './over-seeds';

describe('statOverSeeds', () => {
  it('gives the mean and the sample standard deviation', () => {
    const s = statOverSeeds([0.7, 0.8, 0.9]);
    expect(s.mean).toBeCloseTo(0.8, 12);
    expect(s.std).toBeCloseTo(0.1, 12);
    expect(s.n).toBe(3);
  });

  it('leaves out null and non-finite values but keeps them in values', () => {
    const s = statOverSeeds([0.5, null, Number.NaN, 0.7]);
    expect(s.mean).toBeCloseTo(0.6, 12);
    expect(s.n).toBe(2);
    expect(s.values).toEqual([0.5, null, null, 0.7]);
  });

  it('is 0 spread with one value and null with none', () => {
    expect(statOverSeeds([0.4])).toEqual({ mean: 0.4, std: 0, n: 1, values: [0.4] });
    expect(statOverSeeds([null])).toEqual({ mean: null, std: null, n: 0, values: [null] });
  });
});
