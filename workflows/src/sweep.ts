import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { SweepActivities, SweepCellStart, SweepCellEnd, SweepInput, SweepOutcome, SweepProgress } from '@retain/sdk/workflow';
import { experimentWorkflow } from './experiment';
import { sweepActivityOptions } from './policies';
import { pauseSignal, setStatus, timeToContinueAsNew, unpauseSignal } from './run-control';
import { runSearchAttributes, statusKey, sweepKey } from './search-attributes';

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

/** Cell inputs fetched per sweepCells call: at least the parallel slots, at most what keeps its payload far under 2 MB. */
const MAX_BATCH = 100;
const MIN_BATCH = 20;

/**
 * A sweep: one child `experimentWorkflow` per cell, id `<sweepId>-c<index>`, at most `parallel`
 * at once. A failed cell does not stop the others (its end is recorded with its error). The plan
 * (every cell's validated input) is one artifact; an activity hands the workflow the inputs of
 * the next batch of cells, so neither the workflow's input nor its history holds every spec.
 * Once its history reaches the budget, the execution stops starting cells, waits for those
 * running and continues as new, carrying only each ended cell's status and result ref. At the end
 * `finishSweep` aggregates the completed cells' results into the SweepResult artifact.
 *
 * Children are started with parent close policy REQUEST_CANCEL: cancelling (or terminating) the
 * sweep cancels its running cells, which keep their last checkpoints for `retain resume`. Pause
 * and unpause (the run signals) stop starting cells and pause or unpause the running ones.
 */
export async function sweepWorkflow(input: SweepInput): Promise<SweepOutcome> {
  const { planRef, cells, parallel } = input;
  // A schedule's firing runs under its own id (`<schedule's workflow id>-<time>`) with the plan made
  // when the schedule was created: its cells are named after the firing, so firings never share runs.
  const sweepId = workflowInfo().workflowId;
  const cellRunId = (planned: string) =>
    sweepId !== input.sweepId && planned.startsWith(`${input.sweepId}-c`) ? `${sweepId}${planned.slice(input.sweepId.length)}` : planned;
  const activities = proxyActivities<SweepActivities>(sweepActivityOptions(input.activityQueue));
  const startedAt = input.startedAt ?? new Date().toISOString();
  const ended = new Map<number, SweepCellEnd>(Object.entries(input.ended ?? {}).map(([index, end]) => [Number(index), end]));
  const endedAtStart = input.endedAtStart ?? ended.size;
  const running = new Map<number, string>();
  const buffer: SweepCellStart[] = [];
  let cursor = 0;
  let paused = input.paused ?? false;
  let draining = false;
  let phase: SweepProgress['phase'] = 'running';
  // Bumped by every event the loop below waits for: a cell ending, pause, unpause.
  let changes = 0;
  // Cells carry the run attributes (and their sweep) only when the sweep has Retain's attributes itself.
  const attributed = workflowInfo().typedSearchAttributes.get(statusKey) !== undefined;

  setHandler(sweepProgressQuery, (): SweepProgress => {
    const count = (status: SweepCellEnd['status']) => [...ended.values()].filter((e) => e.status === status).length;
    return {
      sweepId,
      cells,
      completed: count('completed'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      running: running.size,
      pending: cells - ended.size - running.size,
      runningIds: [...running.values()],
      startedAt,
      endedAtStart,
      paused,
      phase,
    };
  });
  const signalRunning = (signal: typeof pauseSignal | typeof unpauseSignal) => {
    for (const runId of running.values())
      void getExternalWorkflowHandle(runId)
        .signal(signal)
        .catch(() => undefined);
  };
  setHandler(pauseSignal, () => {
    paused = true;
    changes++;
    setStatus('paused');
    signalRunning(pauseSignal);
  });
  setHandler(unpauseSignal, () => {
    paused = false;
    changes++;
    setStatus('running');
    signalRunning(unpauseSignal);
  });

  /** Up to `n` cells from the cursor on that have not ended (a continued or resumed sweep skips them). */
  const nextIndices = (n: number) => {
    const indices: number[] = [];
    for (let i = cursor; i < cells && indices.length < n; i++) if (!ended.has(i)) indices.push(i);
    return indices;
  };

  /** Runs one cell to its end and records it; never throws (the sweep goes on). */
  const runCell = async ({ index, runId: planned, input: cellInput }: SweepCellStart): Promise<void> => {
    const runId = cellRunId(planned);
    const renamed = runId !== planned ? { runId } : {};
    running.set(index, runId);
    try {
      const { spec } = cellInput;
      const attributes: SearchAttributePair[] = attributed ? [...runSearchAttributes(spec), { key: sweepKey, value: sweepId }] : [];
      const child = await startChild(experimentWorkflow, {
        workflowId: runId,
        taskQueue: spec.execution.taskQueue,
        args: [cellInput],
        typedSearchAttributes: attributes,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
      const outcome = await child.result();
      ended.set(index, { status: 'completed', resultRef: outcome.resultRef, ...renamed });
    } catch (err) {
      ended.set(index, { status: isCancellation(err) ? 'cancelled' : 'failed', error: oneLine(err), ...renamed });
    } finally {
      running.delete(index);
      changes++;
    }
  };

  try {
    // The status attribute carries across continue-as-new; a pause carried with it says so again.
    if (paused) setStatus('paused');
    for (;;) {
      if (!draining && timeToContinueAsNew(input.continueAsNewAfterEvents)) {
        draining = true;
        phase = 'draining';
      }
      // Fill every free slot: the cells of one batch start in one workflow task (their start commands go out together).
      while (!paused && !draining && running.size < parallel) {
        if (buffer.length) {
          void runCell(buffer.shift()!);
          continue;
        }
        const indices = nextIndices(Math.min(MAX_BATCH, Math.max(MIN_BATCH, parallel)));
        if (!indices.length) break;
        buffer.push(...(await activities.sweepCells({ planRef, indices })));
        cursor = indices[indices.length - 1] + 1;
      }
      const left = buffer.length > 0 || nextIndices(1).length > 0;
      if (running.size === 0 && (!left || draining)) break;
      const seen = changes;
      await condition(() => changes !== seen);
    }
  } catch (err) {
    // Cancelled: the running cells were asked to cancel; wait until they have, so their last checkpoints exist.
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => condition(() => running.size === 0));
      setStatus('cancelled');
    } else {
      setStatus('failed');
    }
    throw err;
  }

  if (ended.size < cells) {
    return await continueAsNew<typeof sweepWorkflow>({
      ...input,
      ended: Object.fromEntries(ended),
      startedAt,
      endedAtStart,
      paused,
    });
  }
  phase = 'finishing';
  try {
    const outcome = await activities.finishSweep({ sweepId, planRef, ended: Object.fromEntries(ended), startedAt });
    phase = 'done';
    setStatus(outcome.completed === cells ? 'completed' : 'failed');
    return outcome;
  } catch (err) {
    setStatus(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
}

/** The innermost cause's message (a child's failure wraps the activity's, which wraps the plugin's), first line, bounded. */
function oneLine(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  const message = String(e?.message ?? err).split('\n')[0];
  // Bounded: it is carried across continue-as-new for every failed cell (see SWEEP_MAX_CELLS).
  return message.length > 200 ? `${message.slice(0, 197)}...` : message;
}
