import { checkQuantizer, ConformanceError } from '@retain/sdk/testing';
import { w8a8Quantizer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  // KNOWN FAILURE, kept visible rather than loosened: on the kit's MLP 128-128-4, onnxruntime's
  // CPU run of the exported W8A8 model differs from the same model with float (dequantized)
  // weights and the same activation QuantizeLinear/DequantizeLinear by up to 0.020 on logits of
  // at most 1.37 (1.5%; 0.026 with signed activations), where the kit allows 1e-4 relative.
  // Without activation quantization the two agree exactly. This test turns red once they agree:
  // then assert that the check passes.
  it('w8a8 fails only the export round trip (known, see above); every other check passes', async () => {
    const error = await checkQuantizer(w8a8Quantizer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceError);
    expect((error as ConformanceError).failures).toEqual([
      expect.stringMatching(/^export round trip: the ONNX model computes the dequantized weights' forward: logits differ by up to 0\.0\d+/),
    ]);
  });
});
