import { checkBenchmark } from '@retain/sdk/testing';
import { permutedFashionMnist, splitFashionMnist } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('permuted-fmnist passes the benchmark checks', async () => {
    const report = await checkBenchmark(permutedFashionMnist, { config: { tasks: 3, trainPerTask: 100, testPerTask: 50 } });
    expect(report.passed).toContain('determinism: same config and seed, same scenario');
  });

  it('split-fmnist passes the benchmark checks', async () => {
    const report = await checkBenchmark(splitFashionMnist, { config: { tasks: 5 } });
    expect(report.passed).toContain('tasks match the scenario: names, input dims, samples, labels within the classes per head');
  });
});
