import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StandardRetryStrategy } from '@smithy/util-retry';
import { S3ArtifactStore } from './s3-store';
import { LocalArtifactStore, type ArtifactStore } from './store';

/** The setting that picks the artifact store: unset = the local folder, `s3://bucket/prefix` = S3. */
export const ARTIFACTS_ENV = 'RETAIN_ARTIFACTS';

export type ArtifactsLocation = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

/**
 * Retries of one S3 request, inside one activity attempt: 6 attempts, full-jitter exponential
 * backoff from 250 ms (waits drawn from [0, 250 ms · 2^n], so at most 0.25 + 0.5 + 1 + 2 + 4 s,
 * 7.75 s in all). That rides out what S3 itself asks clients to retry (503 SlowDown, 500, a reset
 * connection, a server or proxy restarting) within seconds; a longer outage fails the activity,
 * whose Temporal retry policy (durable, visible in the run's history) takes over. The SDK retries
 * only errors it classifies as transient or throttling, never a 403 or 404, and its retry-token
 * bucket stops retries when most requests fail.
 */
export const S3_MAX_ATTEMPTS = 6;
export const S3_RETRY_BASE_DELAY_MS = 250;
/**
 * A dead endpoint fails within 5 s (then retried), and a stalled transfer after 120 s without
 * data on the socket (an 8 MiB part needs well under that on any link Retain runs over).
 */
const S3_CONNECTION_TIMEOUT_MS = 5_000;
const S3_SOCKET_TIMEOUT_MS = 120_000;

/**
 * Parses RETAIN_ARTIFACTS: unset or empty = the local folder `localDir`; `s3://bucket[/prefix]`
 * = S3; any other value is refused with what to write instead.
 */
export function parseArtifactsLocation(value: string | undefined, localDir: string): ArtifactsLocation {
  const text = value?.trim() ?? '';
  if (text === '') return { kind: 'local', dir: localDir };
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text);
  if (!match) {
    throw new Error(
      `${ARTIFACTS_ENV}=${value} is not an artifact store: use s3://<bucket>/<prefix> (an S3-compatible bucket, with ` +
        `AWS_ENDPOINT_URL_S3 for a server other than AWS), or unset it to use the local folder ${localDir}.`,
    );
  }
  const [, bucket, prefix] = match;
  // S3's bucket naming rules (3-63 characters: lowercase letters, digits, dots, hyphens).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(
      `${ARTIFACTS_ENV}=${value}: '${bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, dots or hyphens).`,
    );
  }
  return { kind: 's3', bucket, prefix: prefix.replace(/\/+$/, '') };
}

/**
 * The artifact store of this process. `artifacts`: the RETAIN_ARTIFACTS value; `localDir`: the
 * folder used when it is unset; `env`: where the S3 settings come from (default process.env).
 */
export function artifactStoreFrom(config: { artifacts?: string; localDir: string; env?: NodeJS.ProcessEnv }): ArtifactStore {
  const location = parseArtifactsLocation(config.artifacts, config.localDir);
  if (location.kind === 'local') return new LocalArtifactStore(location.dir);
  const env = config.env ?? process.env;
  return new S3ArtifactStore({ ...location, client: s3ClientFromEnv(env), endpoint: endpointOf(env) });
}

/** artifactStoreFrom with RETAIN_ARTIFACTS and the S3 settings read from `env` (default process.env). */
export function openArtifactStore(localDir: string, env: NodeJS.ProcessEnv = process.env): ArtifactStore {
  return artifactStoreFrom({ artifacts: env[ARTIFACTS_ENV], localDir, env });
}

/**
 * An S3 client from the standard AWS settings:
 * - endpoint: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS S3 itself. With an endpoint
 *   the client addresses buckets by path (`http://host:port/bucket/key`), which every
 *   S3-compatible server supports and needs no DNS name per bucket; AWS S3 gets virtual-hosted
 *   addressing, which AWS recommends.
 * - region: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's; 'us-east-1' when an endpoint
 *   is set (S3-compatible servers accept any region, but requests must be signed with one).
 * - credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from `env`, else
 *   the SDK's default chain (AWS_PROFILE and ~/.aws, SSO, instance or container roles).
 */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = setting(env, 'AWS_ENDPOINT_URL_S3') ?? setting(env, 'AWS_ENDPOINT_URL');
  const accessKeyId = setting(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = setting(env, 'AWS_SECRET_ACCESS_KEY');
  const sessionToken = setting(env, 'AWS_SESSION_TOKEN');
  const config: S3ClientConfig = {
    region: setting(env, 'AWS_REGION') ?? setting(env, 'AWS_DEFAULT_REGION') ?? (endpoint ? 'us-east-1' : undefined),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, sessionToken } } : {}),
    retryStrategy: new StandardRetryStrategy({ maxAttempts: S3_MAX_ATTEMPTS, baseDelay: S3_RETRY_BASE_DELAY_MS }),
    requestHandler: { connectionTimeout: S3_CONNECTION_TIMEOUT_MS, requestTimeout: S3_SOCKET_TIMEOUT_MS },
  };
  return new S3Client(config);
}

function endpointOf(env: NodeJS.ProcessEnv): string {
  const endpoint = setting(env, 'AWS_ENDPOINT_URL_S3') ?? setting(env, 'AWS_ENDPOINT_URL');
  if (endpoint) return endpoint;
  const region = setting(env, 'AWS_REGION') ?? setting(env, 'AWS_DEFAULT_REGION');
  return `AWS S3${region ? ` (${region})` : ''}`;
}

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}
