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
  ) {
    const at = [where.task !== undefined ? `task ${where.task}` : '', where.step !== undefined ? `step ${where.step}` : '']
      .filter(Boolean)
      .join(', ');
    super(`${plugin}${at ? ` (${at})` : ''}: ${message}`);
  }
}

/** An artifact exists and is intact but is not what the caller expected (kind or version). */
export class ArtifactKindError extends Error {
  override readonly name = 'ArtifactKindError';
}

/** Failure types the workflow never retries (see workflows/src/policies.ts). */
export const NON_RETRYABLE_ERROR_TYPES = [
  'SpecError',
  'SpecErrors',
  'PluginError',
  'DatasetNotFoundError',
  'ScenarioConfigError',
  'CorruptArtifactError',
  // A missing artifact stays missing: retrying only delays the message that names the store to fix.
  'ArtifactNotFoundError',
  'ArtifactKindError',
  'InvalidArtifactRefError',
] as const;
