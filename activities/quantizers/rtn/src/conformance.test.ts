import { checkQuantizer } from '@retain/sdk/testing';
import { rtnQuantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['int8 per-channel (defaults)', {}],
    ['int4 block 32', { bits: 4, granularity: 'block', blockSize: 32 }],
    ['int4 block 32 as MatMulNBits', { bits: 4, granularity: 'block', blockSize: 32, format: 'matmulnbits' }],
  ])('rtn %s passes the quantizer checks, the export round trip and its QAT plan included', async (_label, config) => {
    const report = await checkQuantizer(rtnQuantizer, { config });
    expect(report.passed).toContain("export round trip: the ONNX model computes the dequantized weights' forward");
    expect(report.passed).toContain('QAT plans exactly the weights quantize quantizes');
  });
});
