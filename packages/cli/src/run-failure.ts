import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowFailedError,
} from '@temporalio/client';
import type { FailureDetails } from '@retain/sdk';
import { RunFailedError } from './output';

/**
 * What `retain run`, `result` and `status` say about a run that failed: one line in the CLI's own
 * words, from the failure the workflow ended with. An activity's failure carries the classified
 * error (packages/worker/src/failures.ts): its message, and in its details the activity, plugin,
 * task, step and fix; Temporal's own wrappers ("Workflow execution failed", "Activity task
 * failed") say nothing the user can act on and are left out, as are stack traces.
 */
export function runFailureMessage(runId: string, err: WorkflowFailedError): string {
  const cause = err.cause;
  if (cause instanceof CancelledFailure) return `run ${runId} was cancelled; \`retain resume ${runId}\` starts a run that continues it`;
  if (cause instanceof TerminatedFailure) return `run ${runId} was terminated${reason(cause.message, 'Workflow execution terminated')}`;
  if (cause instanceof TimeoutFailure) return `run ${runId} timed out (${cause.timeoutType ?? 'workflow timeout'})`;
  const activity = cause instanceof ActivityFailure ? cause : undefined;
  const app = firstApplicationFailure(cause);
  if (!app) return `run ${runId} failed: ${firstLine(cause?.message ?? err.message)}`;
  const details = failureDetails(app);
  const where = [details?.activity ?? activity?.activityType, details?.plugin ? undefined : taskOf(details)].filter(Boolean).join(', ');
  const fix = details?.fix?.replace(/<run id>/g, runId);
  return `run ${runId} failed${where ? ` in ${where}` : ''}: ${app.message}${fix ? `; ${fix}` : ''}`;
}

/** `handle.result()` for a command that reports a run: a failed run becomes RunFailedError (exit code 3) with that line. */
export async function resultOrRunFailure<T>(runId: string, result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new RunFailedError(runFailureMessage(runId, err));
    throw err;
  }
}

/** The first ApplicationFailure down the chain: the error an activity (or the workflow) raised, as the worker classified it. */
function firstApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    // An activity's ApplicationFailure may wrap the original error (cause) as another one: keep the classified, outer one.
    if (e instanceof ApplicationFailure && !found) found = e;
  }
  return found;
}

function failureDetails(app: ApplicationFailure): FailureDetails | undefined {
  const first = app.details?.[0];
  return first && typeof first === 'object' && 'activity' in first ? (first as FailureDetails) : undefined;
}

function taskOf(details: FailureDetails | undefined): string | undefined {
  return details?.task === undefined ? undefined : `task ${details.task}${details.step === undefined ? '' : `, step ${details.step}`}`;
}

function reason(message: string, generic: string): string {
  return message && message !== generic ? ` (${message})` : '';
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
