import { numel } from '@retain/engine';

/** Raised for bytes that are not a well-formed unsigned-byte IDX file. */
export class IdxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxFormatError';
  }
}

const UBYTE = 0x08;

/**
 * Parses an IDX file (the MNIST family's format): two zero bytes, a dtype byte, a dimension
 * count, then each dimension as a big-endian uint32, then the values in row-major order.
 * Only dtype 0x08 (unsigned byte) is supported, which is what image and label files use.
 * `source` names the file in error messages. The returned data is a view, not a copy.
 */
export function readIdx(bytes: Uint8Array, source = 'IDX data'): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(
      `${source} is not an IDX file (bad magic number${bytes.length >= 4 ? ` 0x${hex(bytes.subarray(0, 4))}` : ''}); if it is gzipped, gunzip it first`,
    );
  }
  const dtype = bytes[2];
  if (dtype !== UBYTE) {
    throw new IdxFormatError(`${source} has IDX dtype 0x${dtype.toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are supported`);
  }
  const rank = bytes[3];
  const headerLength = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerLength) {
    throw new IdxFormatError(`${source} is truncated: its header declares ${rank} dimensions but the file has ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, d) => view.getUint32(4 + 4 * d, false));
  const count = numel(dims);
  const actual = bytes.length - headerLength;
  if (actual !== count) {
    throw new IdxFormatError(
      `${source} is ${actual < count ? 'truncated' : 'longer than its header says'}: dims [${dims.join(', ')}] need ${count} values, found ${actual}; re-download or reinstall the file`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
