export class InvalidArtifactRefError extends Error {
  constructor(readonly ref: unknown) {
    super(
      `Invalid artifact ref ${JSON.stringify(ref)}: refs have the form 'sha256:' followed by 64 lowercase hex digits, as returned by ArtifactStore.put`,
    );
    this.name = 'InvalidArtifactRefError';
  }
}

/**
 * The ref is well formed but this store does not hold it. Retrying cannot fix that (the bytes were
 * never written here), so the workflow lists it as non-retryable; the usual cause is a worker or
 * CLI configured with another store than the one the run wrote to.
 */
export class ArtifactNotFoundError extends Error {
  constructor(
    readonly ref: string,
    /** The store this process uses, e.g. `s3://bucket/prefix at http://host:8333` or `local folder /path`. */
    readonly store: string,
  ) {
    super(
      `Artifact ${ref} not found in ${store}. It was never stored there, or it was written to another artifact store: ` +
        `every worker and the CLI of a run must use the same RETAIN_ARTIFACTS (an s3://bucket/prefix that all machines reach; ` +
        `unset, each machine uses its own local folder).`,
    );
    this.name = 'ArtifactNotFoundError';
  }
}

export class CorruptArtifactError extends Error {
  constructor(
    readonly ref: string,
    /** Where the bad bytes are: a file path, or `s3://bucket/key at <endpoint>`. */
    readonly path: string,
    readonly actual: string,
  ) {
    super(
      `Artifact ${ref} is corrupt: the bytes in ${path} hash to ${actual}. Delete that file or object and re-run the step that produced it ` +
        `(in a local folder, putting the same bytes again also rewrites the file)`,
    );
    this.name = 'CorruptArtifactError';
  }
}

/**
 * The store could not be read or written (after the client's own retries): a server down, a
 * missing bucket, wrong credentials. The message names the object and the setting to check; the
 * activity's retry policy retries it, since a server that comes back fixes it.
 */
export class ArtifactStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactStoreError';
  }
}
