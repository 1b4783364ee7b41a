import { decodeSafetensors, encodeSafetensors } from './checkpoint';
import { initParams, mlp } from './models';

describe('safetensors checkpoints', () => {
  const tensors = {
    ...initParams(mlp({ inputSize: 5, hidden: [3], classesPerHead: 2, heads: 2 }), 9),
    'adam.t': { dims: [], data: new Float32Array([17]) },
    odd: { dims: [3], data: new Float32Array([NaN, -0, Infinity]) },
  };

  test('round trip is exact, bit for bit, with metadata', () => {
    const bytes = encodeSafetensors(tensors, { step: '120', rng: '[1,2,3,4]' });
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '120', rng: '[1,2,3,4]' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name].dims).toEqual(t.dims);
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      expect(bits(back[name].data)).toEqual(bits(t.data));
    }
  });

  test('encoding is canonical: insertion order does not change the bytes', () => {
    const reversed = Object.fromEntries(Object.entries(tensors).reverse());
    expect(Buffer.from(encodeSafetensors(reversed)).equals(Buffer.from(encodeSafetensors(tensors)))).toBe(true);
  });

  test('layout follows the safetensors format (u64 header length, 8-byte aligned JSON header)', () => {
    const bytes = encodeSafetensors({ w: { dims: [2], data: new Float32Array([1.5, -2]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(new Float32Array(bytes.slice(8 + n).buffer))).toEqual([1.5, -2]);
  });

  test('corrupt input is rejected with a reason', () => {
    const bytes = encodeSafetensors({ w: { dims: [2], data: new Float32Array([1, 2]) } });
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1))).toThrow(/offsets \[0, 8\] do not fit/);
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/not a valid safetensors checkpoint/);
    expect(() => encodeSafetensors({ w: { dims: [3], data: new Float32Array(2) } })).toThrow(/tensor 'w': dims \[3\] need 3 values/);
  });
});
