export type { ArtifactRef, ArtifactStore } from './store';
export { LocalArtifactStore, refOf, isArtifactRef } from './store';
export { ArtifactNotFoundError, CorruptArtifactError, InvalidArtifactRefError } from './errors';
export { canonicalJson } from './canonical-json';
