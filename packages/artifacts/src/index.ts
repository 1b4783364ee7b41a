export type { ArtifactRef, ArtifactStore, StoredArtifact } from './store';
export { LocalArtifactStore, refOf, isArtifactRef, keyOf } from './store';
export { S3ArtifactStore, DEFAULT_PART_SIZE } from './s3-store';
export type { S3ArtifactStoreOptions } from './s3-store';
export {
  ARTIFACTS_ENV,
  S3_MAX_ATTEMPTS,
  S3_RETRY_BASE_DELAY_MS,
  artifactStoreFrom,
  openArtifactStore,
  parseArtifactsLocation,
  s3ClientFromEnv,
} from './config';
export type { ArtifactsLocation } from './config';
export { ArtifactNotFoundError, ArtifactStoreError, CorruptArtifactError, InvalidArtifactRefError } from './errors';
export { canonicalJson } from './canonical-json';
