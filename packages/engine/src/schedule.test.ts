import { learningRate, type LrSchedule } from './schedule';

const at = (s: LrSchedule, base: number, total: number) => Array.from({ length: total }, (_, i) => learningRate(s, base, i, total));

describe('learning-rate schedules', () => {
  test('constant is the base rate; linear warm-up ramps to it over warmupSteps', () => {
    expect(at({ name: 'constant' }, 0.1, 3)).toEqual([0.1, 0.1, 0.1]);
    expect(at({ name: 'constant', warmupSteps: 4 }, 0.2, 6)).toEqual([0.05, 0.1, 0.15000000000000002, 0.2, 0.2, 0.2]);
  });

  test('step decays by gamma every stepSize steps, counted after the warm-up', () => {
    const lrs = at({ name: 'step', stepSize: 2, gamma: 0.5, warmupSteps: 1 }, 1, 6);
    expect(lrs).toEqual([1, 1, 1, 0.5, 0.5, 0.25]);
  });

  test('cosine starts at the base, ends at minLr and passes the midpoint halfway', () => {
    const lrs = at({ name: 'cosine', minLr: 0.1 }, 1, 101);
    expect(lrs[0]).toBe(1);
    expect(lrs[50]).toBeCloseTo(0.55 + 0.45 * Math.cos((Math.PI * 50) / 101), 12);
    expect(learningRate({ name: 'cosine', minLr: 0.1 }, 1, 101, 101)).toBeCloseTo(0.1, 12);
    for (let i = 1; i < lrs.length; i++) expect(lrs[i]).toBeLessThan(lrs[i - 1]);
  });

  test('bad schedule fields are named in the error', () => {
    expect(() => learningRate({ name: 'step', stepSize: 0 }, 1, 0, 10)).toThrow(/schedule\.stepSize/);
    expect(() => learningRate({ name: 'constant', warmupSteps: -1 }, 1, 0, 10)).toThrow(/schedule\.warmupSteps/);
  });
});
