import { CancellationScope, condition, continueAsNew, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { FP32 } from '@retain/sdk/workflow';
import type {
  ExperimentResult,
  ExperimentSpec,
  LegacyExperimentState as ExperimentState,
  QuantizeOutput,
  RunPhase,
  RunProgress,
  TrainResumePoint,
  TrainTaskOutput,
} from '@retain/sdk/workflow';
import { quantizationGap, quantizationMetrics, summarize } from '@retain/metrics';
import { proxies } from './policies';
import { cancelledCheckpoint, pauseSignal, progressQuery, setStatus, unpauseSignal } from './run-control';

/**
 * FROZEN: the workflow code of runs started before task records (commit 394ef2b and earlier),
 * kept so that those runs, in flight when a worker upgrades, replay and finish on the code they
 * started with (experiment.ts sends them here). Do not change what it schedules or in which
 * order; delete it once no such run is open.
 */
interface LegacyExperimentInput {
  spec: ExperimentSpec;
  state?: ExperimentState;
  paused?: boolean;
}

/**
 * One continual-learning experiment: for each task, train, consolidate, quantize with every
 * quantizer, and evaluate every task with the fp32 and each quantized model, one activity each.
 * Each execution handles one task and then continues as new, carrying every accuracy row.
 */
export async function legacyExperiment(input: LegacyExperimentInput): Promise<ExperimentResult> {
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
      state = await start(spec, activities);
    }

    const t = state.nextTask;
    const previous = t === 0 ? state.initialCheckpointRef : state.tasks[t - 1].checkpointRef;
    const methodStateRef = t === 0 ? undefined : state.tasks[t - 1].methodStateRef;

    phase = 'training';
    const { checkpointRef, methodStepStateRef, ...stats } = await train(t, previous, methodStateRef);

    await unlessPaused();
    phase = 'consolidating';
    const consolidated = await activities.consolidate.consolidate({
      spec,
      taskIndex: t,
      checkpointRef,
      methodStateRef,
      methodStepStateRef,
    });

    phase = 'quantizing';
    const quantized: Record<string, QuantizeOutput> = {};
    for (const q of spec.quantizers) {
      await unlessPaused();
      const previousCodesRef = t === 0 ? undefined : state.tasks[t - 1].quantized[q.id]?.codesRef;
      quantized[q.id] = await activities.quantize.quantize({ spec, taskIndex: t, checkpointRef, quantizerId: q.id, previousCodesRef });
    }

    phase = 'evaluating';
    const rows: Record<string, number[]> = {};
    await unlessPaused();
    rows[FP32] = (await activities.evaluate.evaluate({ spec, variant: FP32, checkpointRef })).accuracy;
    for (const q of spec.quantizers) {
      await unlessPaused();
      const manifestRef = quantized[q.id].manifestRef;
      rows[q.id] = (await activities.evaluate.evaluate({ spec, variant: q.id, checkpointRef, manifestRef })).accuracy;
    }

    state = {
      ...state,
      nextTask: t + 1,
      matrices: Object.fromEntries(Object.entries(state.matrices).map(([k, m]) => [k, [...m, rows[k]]])),
      tasks: [...state.tasks, { checkpointRef, quantized, methodStateRef: consolidated.methodStateRef }],
      training: [...state.training, stats],
    };
  } catch (err) {
    setStatus(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }

  if (state.nextTask < state.info.taskNames.length) {
    phase = 'preparing';
    return await continueAsNew<(i: LegacyExperimentInput) => Promise<ExperimentResult>>({ spec, state, paused });
  }
  phase = 'done';
  setStatus('completed');
  return finish(state);
}

async function start(spec: ExperimentSpec, activities: ReturnType<typeof proxies>): Promise<ExperimentState> {
  const prepared = await activities.prepare.prepareRun({ spec });
  // The untrained model's accuracy (b in DESIGN.md §6) is what forward transfer is measured against.
  const initial = await activities.evaluate.evaluate({ spec, variant: FP32, checkpointRef: prepared.checkpointRef });
  const keys = [FP32, ...spec.quantizers.map((q) => q.id)];
  return {
    runId: workflowInfo().workflowId,
    spec,
    info: prepared.info,
    nextTask: 0,
    initialCheckpointRef: prepared.checkpointRef,
    initial: initial.accuracy,
    matrices: Object.fromEntries(keys.map((k) => [k, []])),
    tasks: [],
    training: [],
    startedAt: new Date().toISOString(),
  };
}

function finish(state: ExperimentState): ExperimentResult {
  const metrics = Object.fromEntries(Object.entries(state.matrices).map(([k, m]) => [k, summarize(m, state.initial)]));
  const fp32 = state.matrices[FP32];
  const quantizationGapByQuantizer = Object.fromEntries(
    Object.entries(state.matrices)
      .filter(([k]) => k !== FP32)
      .map(([k, m]) => [k, quantizationGap(fp32, m)]),
  );
  const quantization = Object.fromEntries(
    Object.keys(quantizationGapByQuantizer).map((k) => [
      k,
      quantizationMetrics(
        fp32,
        state.matrices[k],
        state.tasks.map((t) => t.quantized[k]),
      ),
    ]),
  );
  return {
    runId: state.runId,
    spec: state.spec,
    tasks: state.info.taskNames,
    initial: state.initial,
    matrices: state.matrices,
    metrics,
    quantizationGap: quantizationGapByQuantizer,
    quantization,
    training: state.training,
    models: state.tasks,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
    ...(state.resumedFrom ? { resumedFrom: state.resumedFrom } : {}),
  };
}
