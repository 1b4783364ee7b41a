import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '@retain/sdk/workflow';

/**
 * Timeouts and retry policies of every activity, in one place. Values are chosen for
 * experiments that run for hours on small CPU workers; each says why.
 */

const retry = {
  // A crashed worker or a lost connection is worth retrying soon; a bug is not retried at all
  // (its error type is listed as non-retryable), so a bounded count only guards against loops.
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
} satisfies ActivityOptions['retry'];

/** Building a scenario and an initial checkpoint: seconds of work. */
export const prepareOptions: ActivityOptions = { startToCloseTimeout: '10 minutes', retry };

/**
 * Training one task can take hours; the heartbeat timeout is what detects a dead worker, so it
 * is short: the trainer heartbeats every few seconds from outside the ORT thread.
 */
export const trainOptions: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry,
};

/** Method consolidation (Fisher, buffers) and quantization: minutes at most on small models. */
export const consolidateOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '60 seconds', retry };
export const quantizeOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '60 seconds', retry };

/** Evaluating every task's test set; heartbeats once per task. */
export const evaluateOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout: '60 seconds', retry };
