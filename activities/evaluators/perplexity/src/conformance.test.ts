import { checkEvaluator } from '@retain/sdk/testing';
import { perplexityEvaluator } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('perplexity passes the evaluator checks', async () => {
    const report = await checkEvaluator(perplexityEvaluator, { config: { batchSize: 7 } });
    expect(report.passed).toContain('determinism: same predictions, same results');
  });
});
