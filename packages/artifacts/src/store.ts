import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { canonicalJson } from './canonical-json';
import { ArtifactNotFoundError, CorruptArtifactError, InvalidArtifactRefError } from './errors';

/** 'sha256:<64 lowercase hex>': the only accepted form, so a ref can never name a path outside the store. */
export type ArtifactRef = string;

const REF_PATTERN = /^sha256:([0-9a-f]{64})$/;

/** One stored artifact, as `list` yields it. */
export interface StoredArtifact {
  ref: ArtifactRef;
  bytes: number;
  /** When the stored copy was written (file mtime, object LastModified): gc spares recent ones. */
  modified: Date;
}

export interface ArtifactStore {
  /** Stores bytes under their hash; idempotent, and atomic (readers never see a partial file). */
  put(bytes: Uint8Array): Promise<ArtifactRef>;
  /** Reads bytes and checks them against the ref's hash. */
  get(ref: ArtifactRef): Promise<Uint8Array>;
  has(ref: ArtifactRef): Promise<boolean>;
  /** Canonical JSON (sorted keys), so equal values give equal refs. */
  putJson(value: unknown): Promise<ArtifactRef>;
  getJson<T>(ref: ArtifactRef): Promise<T>;
  /**
   * Removes an artifact; idempotent (a missing ref is not an error). The store does not know who
   * names a ref: callers delete only what nothing else names (see `retain gc`).
   */
  delete(ref: ArtifactRef): Promise<void>;
  /** Every stored artifact with its size, in no particular order; files or objects that are not artifacts are skipped. */
  list(): AsyncIterable<StoredArtifact>;
  /** Where this store keeps artifacts, for messages: `local folder <path>` or `s3://bucket/prefix at <endpoint>`. */
  readonly location: string;
}

export function refOf(bytes: Uint8Array): ArtifactRef {
  return `sha256:${sha256Hex(bytes)}`;
}

export function isArtifactRef(ref: unknown): ref is ArtifactRef {
  return typeof ref === 'string' && REF_PATTERN.test(ref);
}

/** A directory laid out as <root>/sha256/<2 hex>/<62 hex>, like git's object store. */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = `local folder ${this.root}`;
  }

  /** The file of an artifact (for tests and debugging: callers read through get, which checks the hash). */
  pathOf(ref: ArtifactRef): string {
    return join(this.root, keyOf(ref));
  }

  async put(bytes: Uint8Array): Promise<ArtifactRef> {
    const ref = refOf(bytes);
    const path = this.pathOf(ref);
    // Compare rather than trust an existing file, so putting the same bytes again heals a damaged copy.
    if (await sameContent(path, bytes)) return ref;
    await mkdir(dirname(path), { recursive: true });
    // Write beside the target then rename: rename is atomic within a directory, so a crash or a
    // concurrent writer of the same bytes leaves either no file or the complete one.
    const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      // A write's ENOSPC names no file; the path tells which disk is full.
      if (err instanceof Error && (err as NodeJS.ErrnoException).path === undefined) Object.assign(err, { path });
      throw err;
    }
    return ref;
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const path = this.pathOf(ref);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(ref, this.location);
      throw err;
    }
    const actual = refOf(bytes);
    if (actual !== ref) throw new CorruptArtifactError(ref, path, actual);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(ref: ArtifactRef): Promise<boolean> {
    return exists(this.pathOf(ref));
  }

  async putJson(value: unknown): Promise<ArtifactRef> {
    return this.put(jsonBytes(value));
  }

  async getJson<T>(ref: ArtifactRef): Promise<T> {
    return parseJsonArtifact<T>(ref, await this.get(ref), this.pathOf(ref));
  }

  async delete(ref: ArtifactRef): Promise<void> {
    await rm(this.pathOf(ref), { force: true });
  }

  async *list(): AsyncIterable<StoredArtifact> {
    const top = join(this.root, 'sha256');
    for (const prefix of await entries(top)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const rest of await entries(join(top, prefix))) {
        // Skips a put's temporary files (`<hex>.<pid>.<random>.tmp`) and anything else not named like an artifact.
        const ref = `sha256:${prefix}${rest}`;
        if (!REF_PATTERN.test(ref)) continue;
        const s = await stat(join(top, prefix, rest)).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined; // deleted while listing
          throw err;
        });
        if (s?.isFile()) yield { ref, bytes: s.size, modified: s.mtime };
      }
    }
  }
}

/** Names in a directory; none when it does not exist (an empty store). */
async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The ref of an artifact key (`sha256/<2 hex>/<62 hex>`), or undefined for a key that is not one. */
export function refOfKey(key: string): ArtifactRef | undefined {
  const match = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
  return match ? `sha256:${match[1]}${match[2]}` : undefined;
}

/**
 * An artifact's key relative to the store's root, `sha256/<2 hex>/<62 hex>`, the same in a local
 * folder and under an S3 prefix. Throws InvalidArtifactRefError for anything but a well-formed ref.
 */
export function keyOf(ref: ArtifactRef): string {
  const match = typeof ref === 'string' ? REF_PATTERN.exec(ref) : null;
  if (!match) throw new InvalidArtifactRefError(ref);
  const hex = match[1];
  return `sha256/${hex.slice(0, 2)}/${hex.slice(2)}`;
}

/** Canonical JSON bytes: every store's putJson. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/** Every store's getJson, once the bytes are read and checked. `where`: the file or object, for the message. */
export function parseJsonArtifact<T>(ref: ArtifactRef, bytes: Uint8Array, where: string): T {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as T;
  } catch (err) {
    throw new Error(`Artifact ${ref} (${where}) is not JSON: it was stored with put, not putJson`, { cause: err });
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function sameContent(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
