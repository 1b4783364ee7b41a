import { checkEvaluator } from '@retain/sdk/testing';
import { accuracyEvaluator } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('accuracy passes the evaluator checks', async () => {
    const report = await checkEvaluator(accuracyEvaluator, { config: { batchSize: 7 } });
    expect(report.passed).toContain('determinism: same predictions, same results');
  });
});
