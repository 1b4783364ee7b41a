/**
 * The part of the sdk that workflow code may import: plain values and types with no imports of
 * their own, safe inside Temporal's deterministic sandbox.
 */
export { NON_RETRYABLE_ERROR_TYPES } from './errors';
export { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, FP32 } from './run';
export type * from './run';
export type { ExperimentSpec } from './spec';
export type * from './sweep-result';
export type * from './sweep-run';
