import { summarizeLoss } from '@retain/metrics';
import { lossMetricsOf } from './run-records';

describe('lossMetricsOf (results.json lossMetrics)', () => {
  const L = [
    [2.0, 5.0],
    [2.5, 1.5],
  ];

  it("summarizes each model's perplexity.loss matrix, leaving the other evaluators' results alone", () => {
    const Lq = [
      [2.1, 5.0],
      [2.9, 1.6],
    ];
    const evaluations = {
      fp32: { 'perplexity.loss': L, 'perplexity.perplexity': L.map((r) => r.map(Math.exp)), 'other.score': [[1, 1], null] },
      'rtn-int4': { 'perplexity.loss': Lq },
    };
    const { lossMetrics } = lossMetricsOf(evaluations);
    expect(Object.keys(lossMetrics!)).toEqual(['fp32', 'rtn-int4']);
    expect(lossMetrics!.fp32).toEqual(summarizeLoss(L));
    expect(lossMetrics!.fp32.bwt).toBeCloseTo(0.5, 12);
    expect(lossMetrics!['rtn-int4'].forgetting).toBeCloseTo(0.8, 12);
  });

  it("with the untrained model's loss per task, FWT on the loss and initialLoss beside it", () => {
    const b = [5.5, 5.4];
    const { lossMetrics, initialLoss } = lossMetricsOf({ fp32: { 'perplexity.loss': L } }, b);
    expect(initialLoss).toEqual(b);
    // L[0][1] - b[1]: training task 0 lowered task 1's loss from 5.4 to 5.0.
    expect(lossMetrics!.fp32.fwt).toBeCloseTo(-0.4, 12);
    expect(lossMetricsOf({ fp32: { 'perplexity.loss': L } }).lossMetrics!.fp32.fwt).toBeNull();
    expect(lossMetricsOf({ fp32: { 'other.score': [[1]] } }, b)).toEqual({});
  });

  it('adds nothing without the perplexity evaluator, so results.json stays as it was', () => {
    expect(lossMetricsOf(undefined)).toEqual({});
    expect(lossMetricsOf({ fp32: { 'other.score': [[1]] } })).toEqual({});
  });

  it('leaves out a model with a task that did not run the evaluator (a run resumed with it added)', () => {
    expect(lossMetricsOf({ fp32: { 'perplexity.loss': [null, [2.5, 1.5]] } })).toEqual({});
  });
});
