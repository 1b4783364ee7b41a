import { reshape, slice, transpose, type Graph, type Tensor } from './graph';
import type { QuantizedWeight } from './quant/weight';

/**
 * A mixed-precision weight (`QuantizedWeight.blockBits`) as ONNX that stores every band of
 * `blockSize` rows at its own width. ONNX has no 2- or 3-bit type and DequantizeLinear no
 * per-block width, so a band of width b is stored as b bit planes of its two's-complement codes,
 * packed 8 codes to a byte: b / 8 bytes a weight, the true width. All bands' planes go in one
 * uint8 initializer [planes, bytes per band, 1]; the graph gathers 8 planes per band (a band of
 * width b reads its sign plane again for planes b..7: sign extension, so every band reads as
 * int8), unpacks them (BitShift, BitwiseAnd, Cast), weighs the planes by 1, 2, ..., 64, -128 (a
 * [1, 8] MatMul), and multiplies by the bands' scales: float32 (q * scale), what DequantizeLinear
 * computes. Returns the [in, out] float matrix. Besides the planes, one int32 gather index per
 * band and plane (32 bytes a band) and the nodes (a few hundred bytes a weight).
 */
export function mixedPrecisionMatrix(g: Graph, qw: QuantizedWeight): Tensor {
  const [rows, cols] = qw.dims;
  const size = qw.blockSize!;
  const widths = Array.from(qw.blockBits!);
  const bands = widths.length;
  const codes = size * cols;
  const bandBytes = Math.ceil(codes / 8);
  const starts = widths.map((_, k) => widths.slice(0, k).reduce((s, w) => s + w, 0));
  const planes = new Uint8Array((starts[bands - 1] + widths[bands - 1]) * bandBytes);
  widths.forEach((width, k) => {
    for (let e = 0; e < codes; e++) {
      const i = k * codes + e; // band k's codes are rows k*size.. of the row-major matrix: contiguous
      const q = i < rows * cols ? qw.q[i] : 0; // rows past the weight's end: code 0
      for (let p = 0; p < width; p++) if ((q >> p) & 1) planes[(starts[k] + p) * bandBytes + (e >> 3)] |= 1 << (e & 7);
    }
  });
  const index = Array.from({ length: bands * 8 }, (_, i) => {
    const k = Math.floor(i / 8);
    return starts[k] + Math.min(i % 8, widths[k] - 1);
  });
  const stored = g.constant(planes, [planes.length / bandBytes, bandBytes, 1], 'uint8');
  const gathered = g.node(
    'Gather',
    [stored, g.constant(index, [bands * 8], 'int32')],
    { dims: [bands * 8, bandBytes, 1], dtype: 'uint8' },
    { axis: 0 },
  );
  const unpackedDims = [bands * 8, bandBytes, 8];
  const shifts = g.constant(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [8], 'uint8');
  const shifted = g.node('BitShift', [gathered, shifts], { dims: unpackedDims, dtype: 'uint8' }, { direction: 'RIGHT' });
  const bits = g.node('BitwiseAnd', [shifted, g.constant(Uint8Array.of(1), [], 'uint8')], { dims: unpackedDims, dtype: 'uint8' });
  const asFloat = g.node('Cast', [bits], { dims: unpackedDims, dtype: 'float32' }, { to: 1 });
  const powers = g.constant(Float32Array.from([1, 2, 4, 8, 16, 32, 64, -128]), [1, 8], 'float32');
  let values = g.node('MatMul', [powers, reshape(asFloat, [bands, 8, bandBytes * 8])], {
    dims: [bands, 1, bandBytes * 8],
    dtype: 'float32',
  });
  if (bandBytes * 8 !== codes) values = slice(values, [0], [codes], [2]);
  const scaled = g.node('Mul', [reshape(values, [bands, size, cols]), g.constant(qw.scale, [bands, 1, cols], 'float32')], {
    dims: [bands, size, cols],
    dtype: 'float32',
  });
  const matrix = reshape(scaled, [bands * size, cols]);
  return bands * size === rows ? matrix : slice(matrix, [0], [rows], [0]);
}

/** The same for a conv kernel: the matrix view [K, C_out] back to [C_out, C_in, kh, kw]. */
export function mixedPrecisionKernel(g: Graph, qw: QuantizedWeight): Tensor {
  return reshape(transpose(mixedPrecisionMatrix(g, qw), [1, 0]), qw.shape!);
}
