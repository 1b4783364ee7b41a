import { CancellationScope, condition, continueAsNew, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  ExperimentInput,
  ExperimentOutcome,
  ExperimentOutput,
  ExperimentSpec,
  ExperimentState,
  FinishedTask,
  LegacyExperimentState,
  RunPhase,
  RunProgress,
  TrainResumePoint,
  TrainTaskOutput,
} from '@retain/sdk/workflow';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS } from '@retain/sdk/workflow';
import { legacyExperiment } from './legacy-v1';
import { proxies } from './policies';
import { cancelledCheckpoint, pauseSignal, progressQuery, setStatus, unpauseSignal } from './run-control';

export { pauseSignal, progressQuery, unpauseSignal } from './run-control';

/**
 * The patch that moved accuracy rows out of the workflow into task records. A run whose history
 * started without it (an in-flight run of the earlier code, or a recorded history) replays the
 * frozen legacy code; a new run records the marker once, in its first execution.
 */
export const TASK_RECORDS_PATCH = 'task-records';

/** The patch that lets one execution run several tasks (before it, each continued as new). */
export const TASKS_PER_EXECUTION_PATCH = 'tasks-per-execution';

/**
 * One continual-learning experiment: for each task, train (one activity, long, checkpointed),
 * then finish the task (one activity: the method's consolidation, every quantizer, the evaluation
 * of every task with the fp32 and each quantized model, and the task's record in the artifact
 * store). An execution runs tasks until its history reaches the spec's event budget
 * (execution.continueAsNewAfterEvents) and then continues as new at the task boundary, carrying a
 * fixed handful of refs, so neither history nor payloads grow with the number of tasks; `finishRun`
 * assembles the matrices and metrics from the records at the end and stores the result as an
 * artifact.
 */
export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentOutput> {
  if (isLegacyState(input.state)) return legacyExperiment({ ...input, state: input.state });
  // Only a run's first execution can be a legacy run without a legacy state: ask its history.
  if (!input.state && !patched(TASK_RECORDS_PATCH)) return legacyExperiment({ ...input, state: undefined });
  return experiment({ ...input, state: input.state });
}

/** Whether to continue as new at this task boundary: once the execution's history reaches the spec's event budget, or Temporal suggests it. */
function timeToContinueAsNew(spec: ExperimentSpec, severalTasksPerExecution: boolean): boolean {
  if (!severalTasksPerExecution) return true;
  const info = workflowInfo();
  const budget = spec.execution.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS;
  return info.continueAsNewSuggested || info.historyLength >= budget;
}

function isLegacyState(state: ExperimentInput['state']): state is LegacyExperimentState {
  return state !== undefined && (state as Partial<ExperimentState>).version !== 2;
}

async function experiment(input: { spec: ExperimentSpec; state?: ExperimentState; paused?: boolean }): Promise<ExperimentOutcome> {
  const { spec } = input;
  // Executions recorded before several tasks could share one continued as new after every task,
  // and replay without this marker; asked once, at the start, so an execution keeps one rule.
  const severalTasksPerExecution = patched(TASKS_PER_EXECUTION_PATCH);
  const activities = proxies(spec);
  let phase: RunPhase = 'preparing';
  let state: ExperimentState | undefined = input.state;
  let paused = input.paused ?? false;
  let training: CancellationScope | undefined;

  setHandler(progressQuery, (): RunProgress => ({
    runId: workflowInfo().workflowId,
    phase,
    task: state?.nextTask ?? 0,
    tasks: state?.info.taskNames.length ?? 0,
    taskNames: state?.info.taskNames ?? [],
    paused,
    resumedFrom: state?.resumedFrom,
    startedAt: state?.startedAt,
  }));
  setHandler(pauseSignal, () => {
    paused = true;
    training?.cancel();
  });
  setHandler(unpauseSignal, () => {
    paused = false;
  });

  /** Waits here while paused; the status attribute says so meanwhile. */
  async function unlessPaused(): Promise<void> {
    if (!paused) return;
    setStatus('paused');
    await condition(() => !paused);
    setStatus('running');
  }

  /** Trains task t; a pause cancels the attempt, which hands back its checkpoint, and training continues from it after unpause. */
  async function train(t: number, checkpointRef: string, methodStateRef: string | undefined): Promise<TrainTaskOutput> {
    let resumeFrom: TrainResumePoint | undefined;
    for (;;) {
      await unlessPaused();
      const scope = new CancellationScope();
      training = scope;
      try {
        return await scope.run(() => activities.train.trainTask({ spec, taskIndex: t, checkpointRef, methodStateRef, resumeFrom }));
      } catch (err) {
        // Only a pause cancels this scope alone; a cancelled run cancels the root scope too.
        const pausedHere = scope.consideredCancelled && !CancellationScope.current().consideredCancelled;
        if (!(pausedHere && isCancellation(err))) throw err;
        resumeFrom = cancelledCheckpoint(err) ?? resumeFrom;
      } finally {
        training = undefined;
      }
    }
  }

  try {
    if (!state) {
      await unlessPaused();
      const started = await activities.prepare.startRun({ spec });
      state = {
        version: 2,
        runId: workflowInfo().workflowId,
        spec,
        info: started.info,
        nextTask: 0,
        initialCheckpointRef: started.checkpointRef,
        initialRef: started.initialRef,
        startedAt: new Date().toISOString(),
      };
    }

    while (state.nextTask < state.info.taskNames.length) {
      const t: number = state.nextTask;
      phase = 'training';
      const previous = state.last?.models;
      const { nextTaskTrained, ...rest } = state;
      state = rest;
      const trained = nextTaskTrained ?? (await train(t, previous?.checkpointRef ?? state.initialCheckpointRef, previous?.methodStateRef));
      await unlessPaused();
      // finishTask's heartbeat says which of its stages runs (retain status shows it).
      phase = 'consolidating';
      const finished: FinishedTask = await activities.finishTask.finishTask({ spec, taskIndex: t, trained, previous: state.last });
      state = { ...state, nextTask: t + 1, last: finished };
      if (timeToContinueAsNew(spec, severalTasksPerExecution)) break;
    }
  } catch (err) {
    setStatus(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }

  // Outside the try: continueAsNew throws, and that is not a failure.
  if (state.nextTask < state.info.taskNames.length) {
    phase = 'preparing';
    return await continueAsNew<typeof experimentWorkflow>({ spec, state, paused });
  }
  try {
    phase = 'finishing';
    const outcome = await activities.finishRun.finishRun({ state });
    phase = 'done';
    setStatus('completed');
    return outcome;
  } catch (err) {
    setStatus(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
}
