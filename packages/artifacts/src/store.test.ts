import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactNotFoundError, CorruptArtifactError, InvalidArtifactRefError, LocalArtifactStore, canonicalJson } from './index';

describe('LocalArtifactStore', () => {
  let root: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'retain-artifacts-'));
    store = new LocalArtifactStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips bytes under their sha256 in a git-like layout', async () => {
    const bytes = new TextEncoder().encode('hello');
    const ref = await store.put(bytes);
    // sha256("hello"), computed independently.
    expect(ref).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(store.pathOf(ref)).toBe(join(root, 'sha256', '2c', 'f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'));
    expect(await store.has(ref)).toBe(true);
    expect(Array.from(await store.get(ref))).toEqual(Array.from(bytes));
    expect(await readFile(store.pathOf(ref), 'utf8')).toBe('hello');
  });

  it('put is idempotent and leaves no temporary files', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const [a, b, c] = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes.slice())]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    const dir = join(root, 'sha256', a.slice(7, 9));
    expect(await readdir(dir)).toEqual([a.slice(9)]);
  });

  it('detects a flipped byte on read and names the ref and file', async () => {
    const ref = await store.put(new Uint8Array(1000).fill(7));
    const path = store.pathOf(ref);
    const damaged = await readFile(path);
    damaged[500] ^= 0x01;
    await writeFile(path, damaged);
    const err = await store.get(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptArtifactError);
    expect((err as Error).message).toContain(ref);
    expect((err as Error).message).toContain(path);
  });

  it('putting the same bytes again repairs a damaged file', async () => {
    const bytes = new Uint8Array(64).fill(9);
    const ref = await store.put(bytes);
    await writeFile(store.pathOf(ref), 'garbage');
    await store.put(bytes);
    expect(Array.from(await store.get(ref))).toEqual(Array.from(bytes));
  });

  it('reports a missing artifact as not found', async () => {
    const ref = `sha256:${'ab'.repeat(32)}`;
    expect(await store.has(ref)).toBe(false);
    await expect(store.get(ref)).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it.each([
    '../x',
    'sha256:../../etc',
    'sha256:' + 'A'.repeat(64),
    'sha256:' + 'a'.repeat(63),
    'md5:' + 'a'.repeat(32),
    `sha256:${'a'.repeat(64)}/..`,
  ])('refuses the malformed ref %j everywhere', async (ref) => {
    expect(() => store.pathOf(ref)).toThrow(InvalidArtifactRefError);
    await expect(store.get(ref)).rejects.toBeInstanceOf(InvalidArtifactRefError);
    await expect(store.has(ref)).rejects.toBeInstanceOf(InvalidArtifactRefError);
  });

  it('putJson gives equal refs for equal values whatever the key order', async () => {
    const a = await store.putJson({ b: 1, a: { y: [1, 2, { d: true, c: null }], x: 'x' } });
    const b = await store.putJson({ a: { x: 'x', y: [1, 2, { c: null, d: true }] }, b: 1 });
    expect(a).toBe(b);
    expect(await store.getJson(a)).toEqual({ a: { x: 'x', y: [1, 2, { c: null, d: true }] }, b: 1 });
    expect(await readFile(store.pathOf(a), 'utf8')).toBe('{"a":{"x":"x","y":[1,2,{"c":null,"d":true}]},"b":1}');
  });

  it('getJson on raw bytes says the artifact is not JSON', async () => {
    const ref = await store.put(new Uint8Array([0xff, 0x00, 0x01]));
    await expect(store.getJson(ref)).rejects.toThrow(/is not JSON/);
  });
});

describe('canonicalJson', () => {
  it('refuses values JSON would silently change, naming where they are', () => {
    expect(() => canonicalJson({ loss: NaN })).toThrow(/NaN at \$\.loss/);
    expect(() => canonicalJson({ w: [1, Infinity] })).toThrow(/Infinity at \$\.w\[1\]/);
    expect(() => canonicalJson([undefined])).toThrow(/undefined at \$\[0\]/);
    expect(() => canonicalJson({ m: new Map() })).toThrow(/Map at \$\.m/);
  });

  it('drops undefined object members like JSON.stringify and honours toJSON', () => {
    expect(canonicalJson({ a: undefined, b: new Date(0) })).toBe('{"b":"1970-01-01T00:00:00.000Z"}');
  });
});
