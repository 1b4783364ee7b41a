import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '@retain/infra';
import {
  ArtifactNotFoundError,
  ArtifactStoreError,
  CorruptArtifactError,
  DEFAULT_PART_SIZE,
  InvalidArtifactRefError,
  LocalArtifactStore,
  S3ArtifactStore,
  S3_MAX_ATTEMPTS,
  artifactStoreFrom,
  canonicalJson,
  openArtifactStore,
  parseArtifactsLocation,
  s3ClientFromEnv,
  type ArtifactRef,
  type ArtifactStore,
} from './index';

/** One real SeaweedFS S3 server for this file (installed by infra/setup.sh): seconds to start. */
let s3: S3Server;
let s3Dir: string;
const BUCKET = 'retain-test';

beforeAll(async () => {
  s3Dir = await mkdtemp(join(tmpdir(), 'retain-s3-'));
  s3 = await startS3Server({ dir: s3Dir, buckets: [BUCKET] });
}, 120_000);
afterAll(async () => {
  await s3?.stop();
  await rm(s3Dir, { recursive: true, force: true });
});

/** What the shared tests need to know about a backend beyond the ArtifactStore interface. */
interface Backend {
  store: ArtifactStore;
  /** Replaces the stored bytes of `ref` behind the store's back. */
  overwrite(ref: ArtifactRef, bytes: Uint8Array): Promise<void>;
  /** Identity of the stored copy: changes when the file or object is written again. */
  version(ref: ArtifactRef): Promise<string>;
  /** Where the bytes of `ref` are, as error messages name it. */
  where(ref: ArtifactRef): string;
  /** Writes (PutObject / multipart requests) the store sent so far; undefined for the local folder. */
  writes?: string[];
  /** ListObjectsV2 requests the store sent so far; undefined for the local folder. */
  listRequests?: number;
  close(): Promise<void>;
}

const WRITE_COMMANDS = ['PutObjectCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'];

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'local folder',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'retain-artifacts-'));
      const store = new LocalArtifactStore(root);
      return {
        store,
        overwrite: (ref, bytes) => writeFile(store.pathOf(ref), bytes),
        // rename() into place gives a new inode: an unchanged inode means the file was not rewritten.
        version: async (ref) => {
          const s = await stat(store.pathOf(ref));
          return `${s.ino}:${s.mtimeMs}`;
        },
        where: (ref) => store.pathOf(ref),
        close: () => rm(root, { recursive: true, force: true }),
      };
    },
  ],
  [
    'S3 (SeaweedFS)',
    async () => {
      const client = s3ClientFromEnv(s3.env);
      // Every command this store's client sends, so a test can prove a put wrote nothing.
      const commands: string[] = [];
      client.middlewareStack.add(
        (next, context) => (args) => {
          commands.push(context.commandName ?? '?');
          return next(args);
        },
        { step: 'initialize' },
      );
      // Pages of 2 keys, so `list` follows continuation tokens even in these small tests.
      const store = new S3ArtifactStore({
        client,
        bucket: BUCKET,
        prefix: `t/${randomBytes(6).toString('hex')}`,
        endpoint: s3.endpoint,
        listPageSize: 2,
      });
      return {
        store,
        overwrite: async (ref, bytes) => {
          await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: store.keyOf(ref), Body: bytes }));
        },
        version: async (ref) => {
          const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: store.keyOf(ref) }));
          return `${head.ETag}:${head.LastModified?.toISOString()}`;
        },
        where: (ref) => `s3://${BUCKET}/${store.keyOf(ref)} at ${s3.endpoint}`,
        get writes() {
          return commands.filter((c) => WRITE_COMMANDS.includes(c));
        },
        get listRequests() {
          return commands.filter((c) => c === 'ListObjectsV2Command').length;
        },
        close: async () => client.destroy(),
      };
    },
  ],
];

describe.each(backends)('artifact store: %s', (_name, open) => {
  let backend: Backend;
  let store: ArtifactStore;

  beforeEach(async () => {
    backend = await open();
    store = backend.store;
  });
  afterEach(async () => {
    await backend.close();
  });

  it('round-trips bytes under their sha256', async () => {
    const bytes = new TextEncoder().encode('hello');
    const ref = await store.put(bytes);
    // sha256("hello"), computed independently.
    expect(ref).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(backend.where(ref)).toMatch(/sha256\/2c\/f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/);
    expect(await store.has(ref)).toBe(true);
    expect(Buffer.from(await store.get(ref)).toString()).toBe('hello');
  });

  it('does not rewrite an artifact that is already stored', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const ref = await store.put(bytes);
    const before = await backend.version(ref);
    const writesBefore = backend.writes?.length;
    // Object timestamps have one-second resolution: wait past it so a rewrite would show.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.put(bytes.slice())).toBe(ref);
    expect(await backend.version(ref)).toBe(before);
    if (backend.writes) expect(backend.writes.length).toBe(writesBefore);
    // Concurrent writers of the same bytes all get the ref and leave one intact copy.
    const refs = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)]);
    expect(new Set(refs)).toEqual(new Set([ref]));
    expect(Array.from(await store.get(ref))).toEqual([1, 2, 3, 4]);
  });

  it('detects bytes changed behind its back, naming the ref and where they are', async () => {
    const ref = await store.put(new Uint8Array(1000).fill(7));
    const damaged = new Uint8Array(1000).fill(7);
    damaged[500] ^= 0x01;
    await backend.overwrite(ref, damaged);
    const err = await store.get(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptArtifactError);
    expect((err as Error).message).toContain(ref);
    expect((err as Error).message).toContain(backend.where(ref));
    await expect(store.getJson(ref)).rejects.toBeInstanceOf(CorruptArtifactError);
  });

  it('reports a missing artifact as not found, naming the ref, this store and the setting', async () => {
    const ref = `sha256:${'ab'.repeat(32)}`;
    expect(await store.has(ref)).toBe(false);
    const err = await store.get(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactNotFoundError);
    expect((err as Error).message).toContain(ref);
    expect((err as Error).message).toContain(store.location);
    expect((err as Error).message).toContain('RETAIN_ARTIFACTS');
  });

  it('stores a large artifact (multipart on S3) and reads it back intact', async () => {
    // Over two parts of 8 MiB, so S3 takes it as a three-part upload.
    const bytes = randomBytes(2 * DEFAULT_PART_SIZE + 1024 * 1024);
    const ref = await store.put(bytes);
    if (backend.writes) {
      expect(backend.writes.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
      expect(backend.writes).toContain('CompleteMultipartUploadCommand');
      expect(backend.writes).not.toContain('PutObjectCommand');
    }
    expect(Buffer.from(await store.get(ref)).equals(bytes)).toBe(true);
  });

  it.each([
    '../x',
    'sha256:../../etc',
    'sha256:' + 'A'.repeat(64),
    'sha256:' + 'a'.repeat(63),
    'md5:' + 'a'.repeat(32),
    `sha256:${'a'.repeat(64)}/..`,
  ])('refuses the malformed ref %j everywhere', async (ref) => {
    await expect(store.get(ref)).rejects.toBeInstanceOf(InvalidArtifactRefError);
    await expect(store.has(ref)).rejects.toBeInstanceOf(InvalidArtifactRefError);
    await expect(store.getJson(ref)).rejects.toBeInstanceOf(InvalidArtifactRefError);
  });

  it('putJson gives equal refs for equal values whatever the key order', async () => {
    const a = await store.putJson({ b: 1, a: { y: [1, 2, { d: true, c: null }], x: 'x' } });
    const b = await store.putJson({ a: { x: 'x', y: [1, 2, { c: null, d: true }] }, b: 1 });
    expect(a).toBe(b);
    expect(await store.getJson(a)).toEqual({ a: { x: 'x', y: [1, 2, { c: null, d: true }] }, b: 1 });
    expect(Buffer.from(await store.get(a)).toString()).toBe('{"a":{"x":"x","y":[1,2,{"c":null,"d":true}]},"b":1}');
  });

  it('lists every artifact with its size and write time, and nothing once deleted', async () => {
    expect(await listAll(store)).toEqual([]);
    const started = Date.now();
    const sizes = [1, 10, 100, 1000, 5];
    const refs = await Promise.all(sizes.map((n, i) => store.put(new Uint8Array(n).fill(i))));
    const listsBefore = backend.listRequests;
    const listed = await listAll(store);
    // Five artifacts in pages of two: three pages.
    if (listsBefore !== undefined) expect(backend.listRequests! - listsBefore).toBe(3);
    expect(listed.map(({ ref, bytes }) => ({ ref, bytes }))).toEqual(
      refs.map((ref, i) => ({ ref, bytes: sizes[i] })).sort((a, b) => a.ref.localeCompare(b.ref)),
    );
    // Object timestamps have one-second resolution.
    for (const { modified } of listed) expect(modified.getTime()).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000);

    await store.delete(refs[1]);
    await store.delete(refs[1]); // idempotent
    await store.delete(`sha256:${'cd'.repeat(32)}`); // never stored
    expect(await store.has(refs[1])).toBe(false);
    await expect(store.get(refs[1])).rejects.toBeInstanceOf(ArtifactNotFoundError);
    expect((await listAll(store)).map((a) => a.ref)).toEqual(refs.filter((_, i) => i !== 1).sort());
    // The others are intact, and a deleted artifact can be stored again.
    expect(Array.from(await store.get(refs[2]))).toEqual(new Array<number>(100).fill(2));
    expect(await store.put(new Uint8Array(10).fill(1))).toBe(refs[1]);
    expect(await store.has(refs[1])).toBe(true);
    await expect(store.delete('sha256:../../etc')).rejects.toBeInstanceOf(InvalidArtifactRefError);
  });

  it('getJson on raw bytes says the artifact is not JSON', async () => {
    const ref = await store.put(new Uint8Array([0xff, 0x00, 0x01]));
    await expect(store.getJson(ref)).rejects.toThrow(/is not JSON/);
  });
});

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

  it('lays files out like git, and leaves no temporary files', async () => {
    const ref = await store.put(new TextEncoder().encode('hello'));
    expect(store.pathOf(ref)).toBe(join(root, 'sha256', '2c', 'f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'));
    expect(await readFile(store.pathOf(ref), 'utf8')).toBe('hello');
    expect(await readdir(join(root, 'sha256', '2c'))).toEqual([ref.slice(9)]);
    expect(() => store.pathOf('sha256:../../etc')).toThrow(InvalidArtifactRefError);
  });

  it('lists only artifacts: not a put in progress, nor files that are not named like one', async () => {
    const ref = await store.put(new TextEncoder().encode('hello'));
    await writeFile(`${store.pathOf(ref)}.123.abcdef.tmp`, 'partial');
    await writeFile(join(root, 'sha256', 'README'), 'not an artifact');
    const listed = [];
    for await (const a of store.list()) listed.push(a.ref);
    expect(listed).toEqual([ref]);
  });

  it('putting the same bytes again repairs a damaged file', async () => {
    const bytes = new Uint8Array(64).fill(9);
    const ref = await store.put(bytes);
    await writeFile(store.pathOf(ref), 'garbage');
    await store.put(bytes);
    expect(Array.from(await store.get(ref))).toEqual(Array.from(bytes));
  });
});

describe('S3ArtifactStore', () => {
  it('keeps objects under <prefix>/sha256/<2 hex>/<62 hex> with the bytes as they are', async () => {
    const client = s3ClientFromEnv(s3.env);
    try {
      const store = new S3ArtifactStore({ client, bucket: BUCKET, prefix: '/runs/a/', endpoint: s3.endpoint });
      expect(store.location).toBe(`s3://${BUCKET}/runs/a at ${s3.endpoint}`);
      const ref = await store.put(new TextEncoder().encode('hello'));
      expect(store.keyOf(ref)).toBe('runs/a/sha256/2c/f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: store.keyOf(ref) }));
      expect(await object.Body?.transformToString()).toBe('hello');
    } finally {
      client.destroy();
    }
  });

  it('names the bucket and what to fix when the bucket does not exist', async () => {
    const client = new S3Client({ ...clientSettings(), maxAttempts: 1 });
    try {
      const store = new S3ArtifactStore({ client, bucket: 'no-such-bucket', endpoint: s3.endpoint });
      await expect(store.put(new Uint8Array([1]))).rejects.toThrow(
        /s3:\/\/no-such-bucket\/sha256\/.* at http:\/\/127\.0\.0\.1:\d+ failed \(NoSuchBucket, HTTP 404, 1 attempt\): .*create it, or fix the bucket in RETAIN_ARTIFACTS/,
      );
    } finally {
      client.destroy();
    }
  });
});

describe('S3 retries', () => {
  it(`retries a dead endpoint ${S3_MAX_ATTEMPTS} times with backoff, then names the endpoint setting`, async () => {
    // Nothing listens on the discard port: every attempt is refused at once, so the time is the backoff's.
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', RETAIN_ARTIFACTS: `s3://${BUCKET}/x` };
    const started = Date.now();
    const err = await openArtifactStore('/unused', env)
      .has(`sha256:${'ab'.repeat(32)}`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactStoreError);
    expect((err as Error).message).toMatch(/failed \(ECONNREFUSED, 6 attempts\).*check AWS_ENDPOINT_URL_S3/);
    const metadata = ((err as Error).cause as { $metadata: { attempts: number; totalRetryDelay: number } }).$metadata;
    expect(metadata.attempts).toBe(S3_MAX_ATTEMPTS);
    expect(metadata.totalRetryDelay).toBeGreaterThan(0);
    // Full jitter: each wait is at most 250 ms * 2^n, so five of them stay under 7.75 s.
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});

describe('RETAIN_ARTIFACTS', () => {
  it('picks the local folder when unset and S3 for s3://bucket/prefix', () => {
    expect(parseArtifactsLocation(undefined, '/x')).toEqual({ kind: 'local', dir: '/x' });
    expect(parseArtifactsLocation(' ', '/x')).toEqual({ kind: 'local', dir: '/x' });
    expect(parseArtifactsLocation('s3://my-bucket', '/x')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseArtifactsLocation('s3://my-bucket/team/retain/', '/x')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'team/retain' });
    expect(artifactStoreFrom({ localDir: '/x' })).toBeInstanceOf(LocalArtifactStore);
  });

  it.each(['/shared/artifacts', 'gs://bucket/x', 's3://Bad_Bucket/x', 's3://'])(
    'refuses %j, naming the setting and the forms it takes',
    (value) => {
      expect(() => parseArtifactsLocation(value, '/x')).toThrow(
        /RETAIN_ARTIFACTS=.*(s3:\/\/<bucket>\/<prefix>|not a valid S3 bucket name)/,
      );
    },
  );

  it('opens the S3 store from the standard AWS variables, and two processes configured alike share artifacts', async () => {
    const env = { ...s3.env, RETAIN_ARTIFACTS: `s3://${BUCKET}/shared-${randomBytes(4).toString('hex')}` };
    const writer = openArtifactStore('/unused', env);
    const reader = openArtifactStore('/unused', env);
    expect(writer).toBeInstanceOf(S3ArtifactStore);
    expect(writer.location).toBe(`${env.RETAIN_ARTIFACTS} at ${s3.endpoint}`);
    const ref = await writer.putJson({ shared: true });
    expect(await reader.getJson(ref)).toEqual({ shared: true });
    // A process left on its local folder does not see it, and says which store it looked in.
    const local = openArtifactStore(s3Dir, { ...s3.env });
    await expect(local.get(ref)).rejects.toThrow(`not found in local folder ${s3Dir}`);
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

async function listAll(store: ArtifactStore): Promise<Array<{ ref: ArtifactRef; bytes: number; modified: Date }>> {
  const all = [];
  for await (const artifact of store.list()) all.push(artifact);
  return all.sort((a, b) => a.ref.localeCompare(b.ref));
}

function clientSettings() {
  return {
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}
