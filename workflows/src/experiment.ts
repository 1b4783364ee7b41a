import { continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { FP32 } from '@retain/sdk/workflow';
import type {
  ExperimentInput,
  ExperimentResult,
  ExperimentSpec,
  ExperimentState,
  QuantizeOutput,
  RetainActivities,
  RunPhase,
  RunProgress,
} from '@retain/sdk/workflow';
import { quantizationGap, summarize } from '@retain/metrics';
import { consolidateOptions, evaluateOptions, prepareOptions, quantizeOptions, trainOptions } from './policies';

export const progressQuery = defineQuery<RunProgress>('progress');

/**
 * One continual-learning experiment: for each task, train, consolidate, quantize with every
 * quantizer, and evaluate every task with the fp32 and each quantized model. Each execution
 * handles one task and then continues as new, so history stays small however many tasks a
 * run has; the state it carries holds refs and numbers only.
 */
export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentResult> {
  const { spec } = input;
  const activities = proxies(spec);
  let phase: RunPhase = 'preparing';
  let state: ExperimentState | undefined = input.state;

  setHandler(progressQuery, (): RunProgress => ({
    runId: workflowInfo().workflowId,
    phase,
    task: state?.nextTask ?? 0,
    tasks: state?.info.taskNames.length ?? 0,
    taskNames: state?.info.taskNames ?? [],
    fp32Rows: state?.matrices[FP32] ?? [],
    training: state?.training ?? [],
  }));

  if (!state) state = await start(spec, activities);

  const t = state.nextTask;
  const previous = t === 0 ? state.initialCheckpointRef : state.tasks[t - 1].checkpointRef;
  const methodStateRef = t === 0 ? undefined : state.tasks[t - 1].methodStateRef;

  phase = 'training';
  const { checkpointRef, methodStepStateRef, ...stats } = await activities.train.trainTask({
    spec,
    taskIndex: t,
    checkpointRef: previous,
    methodStateRef,
  });

  phase = 'consolidating';
  const consolidated = await activities.consolidate.consolidate({ spec, taskIndex: t, checkpointRef, methodStateRef, methodStepStateRef });

  phase = 'quantizing';
  const quantized: Record<string, QuantizeOutput> = {};
  for (const q of spec.quantizers) {
    quantized[q.id] = await activities.quantize.quantize({ spec, taskIndex: t, checkpointRef, quantizerId: q.id });
  }

  phase = 'evaluating';
  const rows: Record<string, number[]> = {};
  rows[FP32] = (await activities.evaluate.evaluate({ spec, variant: FP32, checkpointRef })).accuracy;
  for (const q of spec.quantizers) {
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

  if (state.nextTask < state.info.taskNames.length) {
    phase = 'preparing';
    return await continueAsNew<typeof experimentWorkflow>({ spec, state });
  }
  phase = 'done';
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
  return {
    runId: state.runId,
    spec: state.spec,
    tasks: state.info.taskNames,
    initial: state.initial,
    matrices: state.matrices,
    metrics,
    quantizationGap: quantizationGapByQuantizer,
    training: state.training,
    models: state.tasks,
    startedAt: state.startedAt,
    finishedAt: new Date().toISOString(),
  };
}

function proxies(spec: ExperimentSpec) {
  const taskQueue = spec.execution.taskQueue;
  return {
    prepare: proxyActivities<RetainActivities>({ ...prepareOptions, taskQueue }),
    train: proxyActivities<RetainActivities>({ ...trainOptions, taskQueue }),
    consolidate: proxyActivities<RetainActivities>({ ...consolidateOptions, taskQueue }),
    quantize: proxyActivities<RetainActivities>({ ...quantizeOptions, taskQueue }),
    evaluate: proxyActivities<RetainActivities>({ ...evaluateOptions, taskQueue }),
  };
}
