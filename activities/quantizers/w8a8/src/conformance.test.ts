import { checkQuantizer } from '@retain/sdk/testing';
import { w8a8Quantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['uint8 activations (defaults)', {}],
    ['int8 activations', { signedActivations: true }],
  ])('w8a8 with %s passes the quantizer checks: weights round-trip exactly, activation quantization takes effect', async (_l, config) => {
    const report = await checkQuantizer(w8a8Quantizer, { config });
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
    expect(report.passed).toContain('export: the activation quantization it asks for loads and takes effect');
  });
});
