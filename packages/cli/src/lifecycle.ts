import type { Client, WorkflowHandle } from '@temporalio/client';
import { BadInputError } from './output';

/** What `pause`, `unpause` and `cancel` do to a run. */
export type LifecycleAction = 'pause' | 'unpause' | 'cancel';

/**
 * The handle of `runId` if it is still running. A signal or a cancellation sent to a closed
 * workflow would fail with the SDK's words or, for cancel, be ignored and look like success;
 * this says which run, how it ended, and what can be done instead.
 */
export async function runningRun(client: Client, runId: string, action: LifecycleAction): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(runId);
  // An unknown id throws WorkflowNotFoundError here, which main reports as bad input (noRunMessage).
  const status = (await handle.describe()).status.name;
  if (status !== 'RUNNING') throw new BadInputError(endedMessage(runId, status, action));
  return handle;
}

/** For every command given a run id the server does not have (Temporal's WorkflowNotFoundError). */
export function noRunMessage(runId: string): string {
  return `no run ${runId} on this Temporal server; \`retain ls\` lists the runs it has`;
}

/** "run X already completed; nothing to cancel", with where to go from a failed or cancelled run. */
export function endedMessage(runId: string, temporalStatus: string, action: LifecycleAction): string {
  const ended = temporalStatus.toLowerCase().replace(/_/g, ' ');
  const next =
    temporalStatus === 'COMPLETED'
      ? ` (\`retain result ${runId}\` shows its results)`
      : ` (\`retain resume ${runId}\` starts a run that continues it)`;
  return `run ${runId} already ${ended}; nothing to ${action}${next}`;
}
