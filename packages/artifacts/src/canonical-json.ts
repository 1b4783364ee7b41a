/**
 * JSON with object keys sorted at every level, so equal values give equal bytes and equal refs.
 * Unlike JSON.stringify it refuses values JSON would silently change (NaN -> null, a dropped
 * undefined array entry, a Map -> {}), because a content address must not hide a lossy write.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`Cannot store ${value} at ${path} as JSON: only finite numbers survive a round trip`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && isPlainObject(value)) {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined) // as JSON.stringify: absent and undefined are the same value
      .sort()
      .map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], `${path}.${k}`)}`);
    return `{${entries.join(',')}}`;
  }
  const kind =
    value === undefined ? 'undefined' : typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value;
  throw new TypeError(
    `Cannot store ${kind} at ${path} as JSON: use plain objects, arrays, strings, finite numbers, booleans or null (store tensors as bytes with put)`,
  );
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
