import { checkModel } from '@retain/sdk/testing';
import { cnnModel } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('cnn passes the model checks on 12x12 one-channel images', async () => {
    const report = await checkModel(cnnModel, { scenario: { inputDims: [1, 12, 12] } });
    expect(report.passed).toContain("every head's forward exports, loads and gives finite logits, the same twice");
  });
});
