import { checkMethod, checkModel } from '@retain/sdk/testing';
import { pnnMethod, pnnModel } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('pnn passes the method checks on its own model (task t trains column t only)', async () => {
    const report = await checkMethod(pnnMethod, { model: (scenario) => pnnModel.build({ hidden: [8] }, scenario) });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });

  it('pnn-mlp passes the model checks', async () => {
    const report = await checkModel(pnnModel, { config: { hidden: [8] } });
    expect(report.passed).toContain("every head's forward exports, loads and gives finite logits, the same twice");
  });
});
