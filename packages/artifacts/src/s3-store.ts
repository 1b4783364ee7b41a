import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactNotFoundError, ArtifactStoreError, CorruptArtifactError } from './errors';
import { type ArtifactRef, type ArtifactStore, type StoredArtifact, jsonBytes, keyOf, parseJsonArtifact, refOf, refOfKey } from './store';

/**
 * Objects larger than this go up as a multipart upload of parts this size. 8 MiB is the AWS
 * CLI's default chunk size: above S3's 5 MiB minimum part, few requests for the models Retain
 * stores (most checkpoints are well under one part), and a failed part costs one 8 MiB resend.
 */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once during a multipart upload (lib-storage's default). */
const UPLOAD_QUEUE_SIZE = 4;

export interface S3ArtifactStoreOptions {
  /** A configured client (see s3ClientFromEnv): endpoint, credentials, retries. */
  client: S3Client;
  bucket: string;
  /** Key prefix, without leading or trailing '/'; '' (default) puts `sha256/...` at the bucket's root. */
  prefix?: string;
  /** The endpoint, for messages; default 'AWS S3'. */
  endpoint?: string;
  /** Multipart part size and threshold (default 8 MiB; S3 refuses parts under 5 MiB but the last). */
  partSize?: number;
  /** Keys per ListObjectsV2 page in `list` (default and S3's maximum 1,000; tests lower it to exercise paging). */
  listPageSize?: number;
}

/**
 * Artifacts in an S3-compatible bucket under `<prefix>/sha256/<2 hex>/<62 hex>`, the local
 * folder's layout, so a folder copied with `aws s3 sync` is a valid store and the reverse.
 *
 * - Reads check the bytes against the ref's hash, as the local store does.
 * - Writes are idempotent: a key that exists is never rewritten (HEAD first; then a conditional
 *   `If-None-Match: *` PUT, so a concurrent writer of the same artifact is not overwritten either
 *   on servers that honour it). Content addressing makes the existing object the same bytes, or a
 *   corrupt copy that the next read reports (delete it, and the producing step writes it again).
 * - S3 makes an object visible only once its PUT or multipart upload completes, so readers never
 *   see part of an artifact.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly location: string;
  private readonly endpoint: string;
  private readonly partSize: number;
  private readonly listPageSize: number | undefined;

  constructor(options: S3ArtifactStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.endpoint = options.endpoint ?? 'AWS S3';
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.listPageSize = options.listPageSize;
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''} at ${this.endpoint}`;
  }

  /** The object key of an artifact. */
  keyOf(ref: ArtifactRef): string {
    return this.prefix ? `${this.prefix}/${keyOf(ref)}` : keyOf(ref);
  }

  async put(bytes: Uint8Array): Promise<ArtifactRef> {
    const ref = refOf(bytes);
    const key = this.keyOf(ref);
    if (await this.exists(key)) return ref;
    try {
      if (bytes.byteLength <= this.partSize) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: bytes,
            ContentType: 'application/octet-stream',
            IfNoneMatch: '*',
            // The server checks the body against this digest (SeaweedFS answers BadDigest), so bytes
            // damaged on the way are refused, not stored. The SDK adds a CRC32 too, which not every
            // S3-compatible server checks; Content-MD5 is the long-standing one they generally do.
            ContentMD5: createHash('md5').update(bytes).digest('base64'),
          }),
        );
      } else {
        // Each part carries the SDK's default checksum (CRC32), which the server checks; a part
        // that still fails after the client's retries aborts the upload, deleting its parts.
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: key, Body: bytes, ContentType: 'application/octet-stream' },
          partSize: this.partSize,
          queueSize: UPLOAD_QUEUE_SIZE,
          leavePartsOnError: false,
        }).done();
      }
    } catch (err) {
      // 412: the key exists now (another writer of the same artifact got in between HEAD and PUT,
      // or our own first attempt stored it and its response was lost before the SDK retried).
      if (statusOf(err) === 412) return ref;
      // 409: a concurrent conditional write was in progress; it may yet fail, so look again.
      if (statusOf(err) === 409 && (await this.exists(key))) return ref;
      throw this.failure('put', key, err);
    }
    return ref;
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const key = this.keyOf(ref);
    let bytes: Uint8Array;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!response.Body) throw new Error('the response has no body');
      bytes = await response.Body.transformToByteArray();
    } catch (err) {
      if (nameOf(err) === 'NoSuchKey') throw new ArtifactNotFoundError(ref, this.location);
      throw this.failure('get', key, err);
    }
    const actual = refOf(bytes);
    if (actual !== ref) throw new CorruptArtifactError(ref, this.objectName(key), actual);
    return bytes;
  }

  async has(ref: ArtifactRef): Promise<boolean> {
    return this.exists(this.keyOf(ref));
  }

  async putJson(value: unknown): Promise<ArtifactRef> {
    return this.put(jsonBytes(value));
  }

  async getJson<T>(ref: ArtifactRef): Promise<T> {
    return parseJsonArtifact<T>(ref, await this.get(ref), this.objectName(this.keyOf(ref)));
  }

  async delete(ref: ArtifactRef): Promise<void> {
    const key = this.keyOf(ref);
    try {
      // S3 answers 204 for a key that does not exist too, so deleting twice is fine.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (statusOf(err) === 404) return; // some S3-compatible servers answer NoSuchKey
      throw this.failure('delete', key, err);
    }
  }

  async *list(): AsyncIterable<StoredArtifact> {
    const base = this.prefix ? `${this.prefix}/` : '';
    const listing = `${base}sha256/`;
    try {
      // ListObjectsV2 returns at most 1,000 keys a page; the paginator follows continuation tokens.
      for await (const page of paginateListObjectsV2(
        { client: this.client, pageSize: this.listPageSize },
        { Bucket: this.bucket, Prefix: listing },
      )) {
        for (const object of page.Contents ?? []) {
          const ref = object.Key ? refOfKey(object.Key.slice(base.length)) : undefined;
          if (ref) yield { ref, bytes: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
        }
      }
    } catch (err) {
      throw this.failure('list', listing, err);
    }
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      // HEAD has no body, so a missing key (or bucket) is only a 404.
      if (statusOf(err) === 404) return false;
      throw this.failure('head', key, err);
    }
  }

  private objectName(key: string): string {
    return `s3://${this.bucket}/${key} at ${this.endpoint}`;
  }

  /** An S3 failure (after the client's retries) as an error that names the object and the setting to check. */
  private failure(operation: string, key: string, err: unknown): ArtifactStoreError {
    const name = codeOf(err) ?? nameOf(err);
    const status = statusOf(err);
    const attempts = attemptsOf(err);
    const message = err instanceof Error ? err.message : String(err);
    let fix = '';
    if (name === 'NoSuchBucket') fix = `The bucket '${this.bucket}' does not exist: create it, or fix the bucket in RETAIN_ARTIFACTS.`;
    else if (status === 403 || ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'CredentialsProviderError'].includes(name))
      fix =
        'Check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and that they may read and write the bucket.';
    else if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError'].includes(name))
      fix = 'The endpoint does not answer: check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the server runs.';
    const detail = [name, status ? `HTTP ${status}` : '', attempts ? `${attempts} attempt${attempts > 1 ? 's' : ''}` : '']
      .filter(Boolean)
      .join(', ');
    return new ArtifactStoreError(`S3 ${operation} of ${this.objectName(key)} failed (${detail}): ${message}${fix ? `. ${fix}` : ''}`, {
      cause: err,
    });
  }
}

function nameOf(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

/** Attempts the client made, retries included (the SDK records them on the error). */
function attemptsOf(err: unknown): number | undefined {
  const attempts = (err as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  return typeof attempts === 'number' ? attempts : undefined;
}

/**
 * A network error's code (ECONNREFUSED...). The retry middleware re-wraps an error it does not see
 * as an Error (one from another realm, e.g. under jest) as "AWS SDK error wrapper for Error:
 * connect ECONNREFUSED ...", keeping only the text, so the code is also looked for in the message.
 */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT)\b/.exec(err instanceof Error ? err.message : String(err))?.[1];
}
