import { checkBenchmark } from '@retain/sdk/testing';
import { textDomains } from './index';

const small = { domains: ['licences', 'c-headers'], context: 16, pretrainTokens: 256, trainTokens: 128, validationTokens: 64 };

describe('conformance (@retain/sdk/testing)', () => {
  it.each([{ tokenizer: 'bytes' }, { tokenizer: 'bpe', vocabulary: 512 }])(
    'text-domains passes the benchmark checks with %j',
    async (tokens) => {
      const report = await checkBenchmark(textDomains, { config: { ...small, ...tokens } });
      expect(report.passed).toContain('determinism: same config and seed, same scenario');
    },
  );
});
