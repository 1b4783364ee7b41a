/**
 * Errors that cross package boundaries. Their `name` is also the Temporal failure type, so the
 * workflow's retry policies can list the ones that retrying cannot fix.
 */

/** A spec field is missing, malformed or refers to something unknown. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    /** Dotted path of the field at fault, e.g. `trainer.config.batchSize`. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field || '(spec)'}: ${problem}`);
  }
}

/** Several spec problems reported at once, so a user fixes them in one pass. */
export class SpecErrors extends Error {
  override readonly name = 'SpecErrors';
  constructor(readonly errors: SpecError[]) {
    super(`invalid experiment spec:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
}

/** A plugin failed in a way that retrying the same input cannot fix. */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  constructor(
    readonly plugin: string,
    message: string,
    readonly where: { task?: number; step?: number } = {},
    options?: ErrorOptions,
  ) {
    const at = [where.task !== undefined ? `task ${where.task}` : '', where.step !== undefined ? `step ${where.step}` : '']
      .filter(Boolean)
      .join(', ');
    // A plugin's own message often names it already ("model transformer: width 16 ..."): say it once.
    const own = message.startsWith(`${plugin}: `) ? message.slice(plugin.length + 2) : message;
    super(`${plugin}${at ? ` (${at})` : ''}: ${own}`, options);
  }
}

/** An artifact exists and is intact but is not what the caller expected (kind or version). */
export class ArtifactKindError extends Error {
  override readonly name = 'ArtifactKindError';
}

/** Who can fix a failure: the user (the spec, the data, the machine), the code's authors, or time. */
export type FailureKind = 'spec' | 'data' | 'environment' | 'plugin' | 'artifact' | 'internal' | 'transient';

export interface FailureType {
  kind: FailureKind;
  /** Whether the activity's retry policy retries it (with backoff); a non-retryable one fails the run at once. */
  retryable: boolean;
  /** What it means, for the docs' table (docs/architecture.md §7). */
  meaning: string;
}

/**
 * The failure types of a run: every error an activity raises reaches Temporal as one of these
 * (packages/worker/src/failures.ts classifies it; the type is the ApplicationFailure's `type`).
 * Retrying cannot fix any of them but the transient ones: a run is a pure function of its spec,
 * data and seed, so the same input fails the same way on every attempt.
 */
export const FAILURE_TYPES = {
  SpecError: { kind: 'spec', retryable: false, meaning: 'a spec field is missing, malformed or names something unknown (a ZodError too)' },
  SpecErrors: { kind: 'spec', retryable: false, meaning: 'several spec fields at once' },
  ScenarioConfigError: {
    kind: 'spec',
    retryable: false,
    meaning: "the benchmark's config does not fit its data (more samples than exist)",
  },
  PluginError: {
    kind: 'plugin',
    retryable: false,
    meaning: 'a plugin refused its config or failed (a plugin error, or a TypeError/RangeError in it: a bug)',
  },
  DatasetNotFoundError: { kind: 'data', retryable: false, meaning: 'a dataset is not installed where Retain looks' },
  TextNotFoundError: { kind: 'data', retryable: false, meaning: 'a text source is not a readable file in the text folder' },
  IdxFormatError: { kind: 'data', retryable: false, meaning: 'a data file is truncated or corrupt (a cut .gz, a short IDX file)' },
  OutOfMemoryError: { kind: 'environment', retryable: false, meaning: 'an allocation failed: the model or data does not fit in memory' },
  DiskFullError: { kind: 'environment', retryable: false, meaning: 'no space left (ENOSPC, EDQUOT) on the disk of the named path' },
  FileSystemError: {
    kind: 'environment',
    retryable: false,
    meaning: 'a file cannot be read or written: missing, permission, read-only, name too long (ENOENT, EACCES, EROFS, ...)',
  },
  CorruptArtifactError: { kind: 'artifact', retryable: false, meaning: "an artifact's bytes do not match its ref" },
  // A missing artifact stays missing: retrying only delays the message that names the store to fix.
  ArtifactNotFoundError: { kind: 'artifact', retryable: false, meaning: 'the artifact store lacks a ref the run names (another store?)' },
  ArtifactKindError: { kind: 'artifact', retryable: false, meaning: 'an intact artifact of the wrong kind or version' },
  InvalidArtifactRefError: { kind: 'artifact', retryable: false, meaning: 'a ref that is not sha256:<64 hex>' },
  InternalError: {
    kind: 'internal',
    retryable: false,
    meaning: "a TypeError, RangeError, ReferenceError or SyntaxError outside any plugin: a bug in Retain's own code",
  },
  ArtifactStoreError: { kind: 'transient', retryable: true, meaning: 'the artifact store cannot be reached (S3 down, throttled)' },
  NetworkError: {
    kind: 'transient',
    retryable: true,
    meaning: 'a connection failed or timed out (ECONNRESET, ETIMEDOUT, ECONNREFUSED, EAI_AGAIN, ...)',
  },
  Error: { kind: 'transient', retryable: true, meaning: 'anything else: unknown, so retried (10 attempts at most)' },
} as const satisfies Record<string, FailureType>;

export type FailureTypeName = keyof typeof FAILURE_TYPES;

/** Failure types the workflow never retries (see workflows/src/policies.ts). */
export const NON_RETRYABLE_ERROR_TYPES = (Object.keys(FAILURE_TYPES) as FailureTypeName[]).filter((type) => !FAILURE_TYPES[type].retryable);

/**
 * What an activity's failure carries besides its message (the ApplicationFailure's first detail),
 * so the CLI can say where a run failed: which activity, plugin, task and step, and the fix.
 */
export interface FailureDetails {
  activity: string;
  type: FailureTypeName;
  plugin?: string;
  task?: number;
  step?: number;
  /** What to do about it, when known. */
  fix?: string;
  /** The original error's name when the type is a classification of it (e.g. RangeError for OutOfMemoryError). */
  errorName?: string;
}
