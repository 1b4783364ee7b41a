import { CancellationScope, condition, continueAsNew, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type {
  ExperimentInput,
  ExperimentOutcome,
  ExperimentState,
  FinishedTask,
  RunPhase,
  RunProgress,
  TrainResumePoint,
  TrainTaskOutput,
} from '@retain/sdk/workflow';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS } from '@retain/sdk/workflow';
import { proxies } from './policies';
import { cancelledCheckpoint, pauseSignal, progressQuery, setStatus, timeToContinueAsNew, unpauseSignal } from './run-control';

export { pauseSignal, progressQuery, unpauseSignal } from './run-control';

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
export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentOutcome> {
  const { spec } = input;
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

  /**
   * Trains task t, from `resumedCheckpoint` (a resumed run's) if given; a pause cancels the attempt,
   * which hands back its checkpoint, and training continues from it after unpause.
   */
  async function train(
    t: number,
    checkpointRef: string,
    methodStateRef: string | undefined,
    resumedCheckpoint: TrainResumePoint | undefined,
  ): Promise<TrainTaskOutput> {
    let resumeFrom = resumedCheckpoint;
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
        runId: workflowInfo().workflowId,
        spec,
        info: started.info,
        nextTask: 0,
        initialCheckpointRef: started.checkpointRef,
        initialRef: started.initialRef,
        ...(started.initialEvaluationsRef ? { initialEvaluationsRef: started.initialEvaluationsRef } : {}),
        startedAt: new Date().toISOString(),
      };
    }

    while (state.nextTask < state.info.taskNames.length) {
      const t: number = state.nextTask;
      phase = 'training';
      const previous = state.last?.models;
      const { nextTaskTrained, nextTaskResumeFrom, ...rest } = state;
      state = rest;
      const trained =
        nextTaskTrained ??
        (await train(t, previous?.checkpointRef ?? state.initialCheckpointRef, previous?.methodStateRef, nextTaskResumeFrom));
      await unlessPaused();
      // finishTask's heartbeat says which of its stages runs (retain status shows it).
      phase = 'consolidating';
      const finished: FinishedTask = await activities.finishTask.finishTask({ spec, taskIndex: t, trained, previous: state.last });
      state = { ...state, nextTask: t + 1, last: finished };
      if (timeToContinueAsNew(spec.execution.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS)) break;
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
