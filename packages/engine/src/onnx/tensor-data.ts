import { DATA_TYPE, type DType, type TensorProtoObject } from './proto';

export type ConstantValues = number[] | Float32Array | Float64Array | BigInt64Array | Int8Array | Uint8Array;

/** Encodes a constant as a TensorProto with little-endian raw_data (int4: two codes per byte, low nibble first). */
export function encodeTensorData(name: string, dims: number[], dtype: DType, values: ConstantValues): TensorProtoObject {
  return { name, dims, data_type: DATA_TYPE[dtype], raw_data: rawBytes(dtype, values) };
}

function rawBytes(dtype: DType, values: ConstantValues): Uint8Array {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'float32':
      return bytes(Float32Array.from(values as ArrayLike<number>));
    case 'float64':
      return bytes(Float64Array.from(values as ArrayLike<number>));
    case 'int64':
      return bytes(values instanceof BigInt64Array ? values : BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v)));
    case 'int32':
      return bytes(Int32Array.from(values as ArrayLike<number>));
    case 'int8':
      return bytes(Int8Array.from(values as ArrayLike<number>));
    case 'uint8':
    case 'bool':
      return bytes(Uint8Array.from(values as ArrayLike<number>));
    case 'int4':
    case 'uint4':
      return packNibbles(values as ArrayLike<number>, dtype === 'int4' ? -8 : 0);
    case 'float16':
    case 'bfloat16':
      // Only casts produce these (mixed precision); no graph stores them as constants.
      throw new Error(`encodeTensorData: ${dtype} constants are not supported; build a float32 constant and cast it`);
  }
}

function packNibbles(values: ArrayLike<number>, min: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < min || v > min + 15)
      throw new Error(`4-bit constant: value ${v} at index ${i} is outside [${min}, ${min + 15}]`);
    out[i >> 1] |= (v & 0xf) << ((i & 1) * 4);
  }
  return out;
}
