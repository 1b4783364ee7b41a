import { assertTensorData, type TensorMap, numel } from './tensor';

/**
 * Checkpoints in the safetensors layout: 8-byte little-endian header length, a JSON header
 * { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { string: string } }, then
 * the raw little-endian data. Tensors are written in name order and the header is padded with
 * spaces to 8 bytes, so equal inputs give equal bytes (checkpoints are content-addressed).
 * Retain's tensors are float32 ('F32'); the byte copies assume a little-endian host (x86, ARM).
 */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new Error(`safetensors metadata '${k}' must be a string, got ${typeof v}`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error(`'__metadata__' is reserved in safetensors; rename that tensor`);
    const t = tensors[name];
    assertTensorData(name, t);
    header[name] = { dtype: 'F32', shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));

  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: TensorMap; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new Error(`not a valid safetensors checkpoint: ${why}; the artifact may be corrupt or not a Retain checkpoint`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail(`header length ${headerLength} exceeds the ${bytes.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: TensorMap = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32') fail(`tensor '${name}' has dtype ${dtype}; Retain checkpoints hold F32 tensors only`);
    const n = numel(shape);
    const [begin, end] = offsets;
    if (!(begin >= 0 && end <= dataLength && end - begin === n * 4))
      fail(`tensor '${name}' offsets [${begin}, ${end}] do not fit shape [${shape.join(', ')}] in ${dataLength} data bytes`);
    const copy = bytes.slice(dataStart + begin, dataStart + end); // own aligned buffer
    tensors[name] = { dims: shape, data: new Float32Array(copy.buffer, 0, n) };
  }
  return { tensors, metadata };
}
