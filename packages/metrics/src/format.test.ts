import { formatMatrix, formatMetricsTable } from './index';

describe('text tables', () => {
  it('formats an accuracy matrix with one aligned row per evaluation point', () => {
    const text = formatMatrix(
      'fp32 accuracy',
      [
        [0.8, 0.3],
        [0.6, 0.9],
      ],
      ['perm-0', 'perm-1'],
    );
    expect(text).toBe(
      ['fp32 accuracy', '              perm-0  perm-1', 'after task 0  0.8000  0.3000', 'after task 1  0.6000  0.9000'].join('\n'),
    );
  });

  it('refuses a task-name count that does not match the matrix', () => {
    expect(() => formatMatrix('x', [[0.5]], ['a', 'b'])).toThrow(/2 task names for a 1 x 1 matrix/);
  });

  it('formats one row per model variant with signed transfer and n/a for a single task', () => {
    const text = formatMetricsTable({
      fp32: { acc: 0.75, bwt: -0.2, fwt: 0.2, forgetting: 0.2 },
      int8: { acc: 0.5, bwt: null, fwt: null, forgetting: null },
    });
    expect(text.split('\n')).toEqual([
      'model     ACC      BWT      FWT  Forgetting',
      'fp32   0.7500  -0.2000  +0.2000      0.2000',
      'int8   0.5000      n/a      n/a         n/a',
    ]);
  });
});
