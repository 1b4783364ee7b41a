import { checkQuantizer } from '@retain/sdk/testing';
import { hqqQuantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('hqq passes the quantizer checks, the export round trip included', async () => {
    const report = await checkQuantizer(hqqQuantizer);
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
  });
});
