import { IdxFormatError, readIdx } from './index';

/** An IDX file written by hand: magic 00 00 <dtype> <rank>, big-endian dims, then the bytes. */
function idx(dims: number[], data: number[], dtype = 0x08): Uint8Array {
  const header = [0, 0, dtype, dims.length, ...dims.flatMap((d) => [(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return Uint8Array.from([...header, ...data]);
}

describe('readIdx', () => {
  it('parses big-endian dimensions and the unsigned-byte payload', () => {
    const { dims, data } = readIdx(idx([2, 3], [1, 2, 3, 4, 5, 255]));
    expect(dims).toEqual([2, 3]);
    expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 255]);
  });

  it('reads dimensions above 255 (all four bytes matter)', () => {
    const { dims, data } = readIdx(idx([300], new Array(300).fill(7)));
    expect(dims).toEqual([300]);
    expect(data.length).toBe(300);
  });

  it('rejects a bad magic number, e.g. a file still gzipped', () => {
    const gz = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0, 0]);
    expect(() => readIdx(gz, 'x.gz')).toThrow(IdxFormatError);
    expect(() => readIdx(gz, 'x.gz')).toThrow(/x\.gz is not an IDX file \(bad magic number 0x1f8b0800\); if it is gzipped/);
  });

  it('rejects dtypes other than unsigned byte', () => {
    expect(() => readIdx(idx([1], [0, 0, 0, 0], 0x0d))).toThrow(/dtype 0x0d; only unsigned bytes/);
  });

  it('rejects a truncated header', () => {
    expect(() => readIdx(idx([2, 3], []).subarray(0, 9))).toThrow(/truncated: its header declares 2 dimensions/);
  });

  it('rejects a truncated payload, naming the expected and found sizes', () => {
    expect(() => readIdx(idx([2, 3], [1, 2, 3]), 'labels.idx')).toThrow(/labels\.idx is truncated: dims \[2, 3\] need 6 values, found 3/);
  });

  it('rejects trailing bytes after the payload', () => {
    expect(() => readIdx(idx([2], [1, 2, 3]))).toThrow(/longer than its header says/);
  });
});
