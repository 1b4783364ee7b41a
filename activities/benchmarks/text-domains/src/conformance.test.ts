import { checkBenchmark } from '@retain/sdk/testing';
import { textDomains } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('text-domains passes the benchmark checks', async () => {
    const config = { domains: ['licences', 'c-headers'], context: 16, pretrainTokens: 256, trainTokens: 128, validationTokens: 64 };
    const report = await checkBenchmark(textDomains, { config });
    expect(report.passed).toContain('determinism: same config and seed, same scenario');
  });
});
