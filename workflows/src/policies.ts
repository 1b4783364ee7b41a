import type { Priority } from '@temporalio/common';
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, NON_RETRYABLE_ERROR_TYPES } from '@retain/sdk/workflow';
import type { ExperimentSpec, RetainActivities } from '@retain/sdk/workflow';

/**
 * Timeouts and retry policies of every activity, in one place. Values are chosen for
 * experiments that run for hours on small CPU workers; each says why.
 */

const retry = {
  // A crashed worker or a lost connection is worth retrying at once: the heartbeat timeout has
  // already waited (0.2 s rather than 1 s keeps crash-to-resume under 10 s on a loaded machine).
  // Only transient failures get here: every other failure type (FAILURE_TYPES in @retain/sdk:
  // spec, data, plugin, disk, memory, bugs) is non-retryable, set so by the worker's
  // classifiedActivity and listed below, so a bounded count only guards against loops.
  initialInterval: '200 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
} satisfies ActivityOptions['retry'];

/** The task queues a run uses: its workflow's, training's, and the rest's (startRun, finishTask, finishRun). */
export interface RunQueues {
  workflow: string;
  train: string;
  finish: string;
}

/** Resolves the spec's `execution.queues`: each kind of work absent there goes to `execution.taskQueue`. */
export function specQueues(spec: Pick<ExperimentSpec, 'execution'>): RunQueues {
  const { taskQueue, queues } = spec.execution;
  return { workflow: taskQueue, train: queues?.train ?? taskQueue, finish: queues?.finish ?? taskQueue };
}

/** Every distinct queue of a run, the workflow's first: what a worker that runs the whole run must poll. */
export function runTaskQueues(spec: Pick<ExperimentSpec, 'execution'>): string[] {
  const { workflow, train, finish } = specQueues(spec);
  return [...new Set([workflow, train, finish])];
}

/**
 * The run's Temporal priority (the spec's `execution.priority` as a priority key), for its
 * workflow start and every activity; undefined without one, so nothing is sent and a spec without
 * it starts exactly as before (replay.test.ts replays that). Activities would inherit the
 * workflow's priority anyway; passing it keeps a resumed or scheduled start, which may carry
 * another, consistent with the spec.
 */
export function runPriority(spec: Pick<ExperimentSpec, 'execution'>): Priority | undefined {
  const key = spec.execution.priority;
  return key === undefined ? undefined : { priorityKey: key };
}

/**
 * The options of every activity of a run. The heartbeat timeout (the spec's
 * execution.heartbeatTimeoutSeconds, 4 s by default) is what detects a dead worker: the retry
 * starts that long after the last heartbeat. Every activity heartbeats every second from the event
 * loop while it runs (the worker's keepAlive; ORT runs in its own thread), so 4 s leaves room for
 * three lost beats and still puts a crashed task back on a worker within seconds (see
 * `npm run bench:orchestration`).
 */
export function activityOptions(spec: ExperimentSpec) {
  const heartbeatTimeout = `${spec.execution.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS} seconds`;
  // Training goes to the train queue (GPU workers), everything else to the finish queue. Without
  // `execution.queues` every activity keeps the queue it always had (replay.test.ts replays that).
  const queues = specQueues(spec);
  const priority = runPriority(spec);
  const prioritised = priority ? { priority } : {};
  // Minutes at most on small models; a long quantizer (GPTQ on a large layer) still heartbeats.
  const short: ActivityOptions = { startToCloseTimeout: '1 hour', heartbeatTimeout, retry, taskQueue: queues.finish, ...prioritised };
  return {
    /** startRun: building a scenario and an initial checkpoint and evaluating it: seconds of work. */
    prepare: short,
    /**
     * Training one task can take hours. A retry resumes from the checkpoint in the last heartbeat.
     * Cancelling waits for the activity to stop: it saves a checkpoint where it stopped and returns
     * its ref in the cancellation, which pausing a run needs.
     */
    train: {
      startToCloseTimeout: '24 hours',
      heartbeatTimeout,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry,
      taskQueue: queues.train,
      ...prioritised,
    } satisfies ActivityOptions,
    /** finishTask: consolidation, every quantizer and every evaluation of one task. */
    finishTask: { ...short, startToCloseTimeout: '6 hours' } satisfies ActivityOptions,
    /** finishRun: reading T task records and computing metrics. */
    finishRun: short,
  };
}

/** One proxy per policy: proxies share nothing, so each carries its own options. */
export function proxies(spec: ExperimentSpec) {
  const options = activityOptions(spec);
  return {
    prepare: proxyActivities<RetainActivities>(options.prepare),
    train: proxyActivities<RetainActivities>(options.train),
    finishTask: proxyActivities<RetainActivities>(options.finishTask),
    finishRun: proxyActivities<RetainActivities>(options.finishRun),
  };
}

/**
 * The sweep's own activities (sweepCells, finishSweep), on the base spec's `finish` queue: reading
 * the plan is a second's work, aggregating a large sweep's results (one results.json per cell)
 * minutes at most; neither heartbeats (a retry redoes it, to the same bytes).
 */
export function sweepActivityOptions(taskQueue: string): ActivityOptions {
  return { startToCloseTimeout: '1 hour', retry, taskQueue };
}
