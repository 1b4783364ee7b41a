import { checkQuantizer } from '@retain/sdk/testing';
import { mixedPrecisionQuantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['defaults (int4 budget, 2/3/4/8, proxy importance on the calibration set)', {}],
    ['budget 3 bits, blocks of 16', { budgetBits: 3, blockSize: 16 }],
  ])('mixed-precision %s passes the quantizer checks and the export round trip', async (_label, config) => {
    const report = await checkQuantizer(mixedPrecisionQuantizer, {
      config,
      valid: [{ choices: [2, 8], budgetBits: 5, importance: 'proxy', proxySamples: 32 }],
    });
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
  });
});
