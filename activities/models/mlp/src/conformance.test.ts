import { checkModel } from '@retain/sdk/testing';
import { mlpModel } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['a shared head', { heads: 1 }],
    ['a head per task', { heads: 2 }],
  ])('mlp passes the model checks with %s', async (_label, scenario) => {
    const report = await checkModel(mlpModel, { config: { hidden: [8, 8] }, scenario });
    expect(report.passed).toContain('a training step builds and runs with a finite loss');
  });
});
