import { splitBatches } from './evaluate';

describe('splitBatches', () => {
  // Logits per example: two values read from the example's own inputs, as a model's rows are.
  const predict = jest.fn(async (x: Float32Array, batch: number) =>
    Float32Array.from({ length: batch * 2 }, (_, i) => x[Math.floor(i / 2) * 3] * (i % 2 ? -1 : 1)),
  );

  it('passes a batch within the limit as one call, and a larger one as calls of at most the limit, concatenated', async () => {
    const x = Float32Array.from({ length: 7 * 3 }, (_, i) => i);
    const whole = await predict(x, 7);
    predict.mockClear();
    expect(await splitBatches(predict, 7)(x, 7)).toEqual(whole);
    expect(predict.mock.calls.map((c) => c[1])).toEqual([7]);
    predict.mockClear();
    expect(await splitBatches(predict, 3)(x, 7)).toEqual(whole);
    expect(predict.mock.calls.map((c) => c[1])).toEqual([3, 3, 1]);
  });
});
