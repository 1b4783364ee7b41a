export class InvalidArtifactRefError extends Error {
  constructor(readonly ref: unknown) {
    super(
      `Invalid artifact ref ${JSON.stringify(ref)}: refs have the form 'sha256:' followed by 64 lowercase hex digits, as returned by ArtifactStore.put`,
    );
    this.name = 'InvalidArtifactRefError';
  }
}

export class ArtifactNotFoundError extends Error {
  constructor(
    readonly ref: string,
    readonly path: string,
  ) {
    super(`Artifact ${ref} not found at ${path}: it was never stored in this artifact root, or the root is not the one the run used`);
    this.name = 'ArtifactNotFoundError';
  }
}

export class CorruptArtifactError extends Error {
  constructor(
    readonly ref: string,
    readonly path: string,
    readonly actual: string,
  ) {
    super(
      `Artifact ${ref} is corrupt: the bytes in ${path} hash to ${actual}. Re-run the step that produced it (putting the same bytes rewrites the file) or delete the file`,
    );
    this.name = 'CorruptArtifactError';
  }
}
