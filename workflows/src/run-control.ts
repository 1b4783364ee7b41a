import { ActivityFailure, CancelledFailure, defineQuery, defineSignal, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RunProgress, TrainHeartbeat, TrainResumePoint } from '@retain/sdk/workflow';
import { statusKey, type RunStatus } from './search-attributes';

export const progressQuery = defineQuery<RunProgress>('progress');
/** Stop at once if training (keeping a checkpoint where it stopped), else before the next phase. */
export const pauseSignal = defineSignal('pause');
export const unpauseSignal = defineSignal('unpause');

/** The checkpoint a cancelled trainTask reported (its last heartbeat details), if it got to one. */
export function cancelledCheckpoint(err: unknown): TrainResumePoint | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof CancelledFailure)) return undefined;
  return (cause.details[0] as TrainHeartbeat | undefined)?.checkpoint;
}

/**
 * Keeps the RetainStatus search attribute current, for runs started with Retain's attributes
 * (`retain run` sets them); a run started without them (a server that lacks them) is left alone,
 * since upserting an unknown attribute would fail every workflow task.
 */
export function setStatus(status: RunStatus): void {
  if (workflowInfo().typedSearchAttributes.get(statusKey) === undefined) return;
  upsertSearchAttributes([{ key: statusKey, value: status }]);
}

/**
 * Whether to continue as new at the next boundary (a task, or a sweep's cells): once this
 * execution's history holds `budget` events, or Temporal suggests it.
 */
export function timeToContinueAsNew(budget: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= budget;
}
