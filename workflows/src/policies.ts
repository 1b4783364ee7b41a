import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
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

/**
 * The heartbeat timeout is what detects a dead worker: the retry starts that long after the last
 * heartbeat. Every activity heartbeats every second from the event loop while it runs (the worker's
 * keepAlive; ORT runs in its own thread, measured event-loop gaps while loading Fashion-MNIST are
 * under 0.1 s), so 5 s leaves room for a few lost beats and still puts a crashed task back on a
 * worker within about 7 s (see `npm run bench:orchestration`).
 */
const heartbeatTimeout = '5 seconds';

/** Building a scenario and an initial checkpoint: seconds of work. */
export const prepareOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout, retry };

/**
 * Training one task can take hours. A retry resumes from the checkpoint in the last heartbeat.
 * Cancelling waits for the activity to stop: it saves a checkpoint where it stopped and returns
 * its ref in the cancellation, which pausing a run needs.
 */
export const trainOptions: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
};

/** Method consolidation (Fisher, buffers) and quantization: minutes at most on small models. */
export const consolidateOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout, retry };
export const quantizeOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout, retry };

/** Evaluating every task's test set. */
export const evaluateOptions: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout, retry };
