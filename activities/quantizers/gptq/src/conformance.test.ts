import { checkQuantizer } from '@retain/sdk/testing';
import { gptqQuantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('gptq passes the quantizer checks, the export round trip included', async () => {
    const report = await checkQuantizer(gptqQuantizer);
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
  });
});
