import { checkBenchmark } from '@retain/sdk/testing';
import { textBytes } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each(['shared', 'per-task'])('text passes the benchmark checks with %s heads', async (heads) => {
    const report = await checkBenchmark(textBytes, { config: { heads } });
    expect(report.passed).toContain('determinism: same config and seed, same scenario');
  });
});
