import { largestMatrixDifference, MATRIX_TOLERANCE } from './bench/gpu-report';

/** The GPU check's verdict on a run: the largest |GPU - CPU| over every evaluated cell of every model. */
describe('largestMatrixDifference', () => {
  const cpu = {
    matrices: {
      fp32: [
        [0.8, null],
        [0.7, 0.9],
      ],
      'rtn-int8': [
        [0.79, 0.1],
        [0.69, 0.88],
      ],
    },
  };

  test('finds the worst cell and skips cells either run did not evaluate', () => {
    const gpu = {
      matrices: {
        fp32: [
          [0.8005, 0.5],
          [0.7, 0.9],
        ],
        'rtn-int8': [
          [0.79, 0.1],
          [0.6925, null],
        ],
      },
    };
    expect(largestMatrixDifference(gpu, cpu)).toEqual({
      difference: expect.closeTo(0.0025, 10),
      model: 'rtn-int8',
      row: 1,
      column: 0,
      cells: 6,
    });
    expect(largestMatrixDifference(gpu, cpu).difference).toBeGreaterThan(MATRIX_TOLERANCE);
    expect(largestMatrixDifference(cpu, cpu)).toMatchObject({ difference: 0, cells: 7 });
  });

  test('a model the GPU run lacks is an error, not a pass', () => {
    expect(() => largestMatrixDifference({ matrices: { fp32: cpu.matrices.fp32 } }, cpu)).toThrow("the GPU run has no 'rtn-int8' matrix");
  });
});
