import type { AccuracyMatrix, CLMetrics, LossMetrics, QuantizationMetrics } from '@retain/metrics';
import type { ExperimentSpec } from './spec';
import type { ArtifactRef } from '@retain/artifacts';

/**
 * What flows between the CLI, the workflow and the activities. Only refs and small numbers:
 * tensors live in the artifact store, never in Temporal payloads.
 */

export type { ArtifactRef };

/**
 * The heartbeat timeout of a spec without execution.heartbeatTimeoutSeconds. A killed worker's
 * activity runs again about this long after its last heartbeat, plus a 0.2 s retry backoff.
 * Workers send a heartbeat every second, so 4 s tolerates an event loop stalled for 3 s, as the
 * earlier 5 s with heartbeats every 2 s did, and detects a dead worker sooner (see
 * `npm run bench:orchestration` for the time from SIGKILL to training on a new worker).
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 4;

/**
 * The history length (events) at which a run continues as new at its next task boundary, for a
 * spec without execution.continueAsNewAfterEvents. Far below Temporal's limits (a warning at
 * 10,240 events, termination at 51,200), and a worker that lost the run from its cache replays at
 * most this many events. Continuing as new after every task instead costs a new execution's first
 * workflow task per task, and on a server whose executions live under a second, Temporal's
 * minimum interval between runs of one workflow id (history.workflowIdReuseMinimalInterval, 1 s)
 * delays the next one's start.
 */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 1000;

/** The key of the unquantized model's matrix; quantizers use their spec ids. */
export const FP32 = 'fp32';

/**
 * The `evaluations` matrix the loss metrics read: the perplexity evaluator's mean next-token
 * cross-entropy (nats) per task, L[i][j] (docs/architecture.md §6).
 */
export const LOSS_EVALUATION = 'perplexity.loss';

export interface RunInfo {
  taskNames: string[];
  heads: number;
  classesPerHead: number;
}

export interface TrainTaskInput {
  spec: ExperimentSpec;
  taskIndex: number;
  checkpointRef: ArtifactRef;
  methodStateRef?: ArtifactRef;
  /** A mid-task checkpoint of this task to continue from (a paused task); a retry finds its own in its heartbeat. */
  resumeFrom?: TrainResumePoint;
}

/** A mid-task training checkpoint: its artifact and the steps it holds. */
export interface TrainResumePoint {
  checkpointRef: ArtifactRef;
  step: number;
}

/**
 * Heartbeat details of `trainTask`: the trainer's last progress and the last mid-task checkpoint.
 * A retried attempt reads them back (activityInfo().heartbeatDetails) and resumes from the checkpoint.
 */
export interface TrainHeartbeat extends Partial<TrainProgressDetails> {
  taskIndex: number;
  checkpoint?: TrainResumePoint;
  /** The step this attempt resumed at, when it did not start from step 0. */
  resumedAt?: number;
}
interface TrainProgressDetails {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  samplesPerSec: number;
}
export interface TaskTrainingStats {
  steps: number;
  /** Samples the task's steps trained on, a method's additions (replay's memory samples) included. */
  samples: number;
  /**
   * The task's own training samples among `samples`; present only when it differs (replay mixing
   * memory samples into a shared head's batches), so results.json of every other spec is unchanged. Throughput
   * comparable across methods is newSamples (or samples when absent) / seconds.
   */
  newSamples?: number;
  seconds: number;
  finalLoss: number;
  /** `samples` / `seconds`: the step rate in samples, replayed ones included. */
  samplesPerSec: number;
  /** The step the finishing attempt resumed at from a mid-task checkpoint; absent when it trained from step 0. */
  resumedAt?: number;
}
export interface TrainTaskOutput extends TaskTrainingStats {
  checkpointRef: ArtifactRef;
  /** The method's step state at the end of the task (e.g. SI's path integral), for `consolidate`. */
  methodStepStateRef?: ArtifactRef;
}

/** What a task's consolidation (the method's afterTask hook) left: the method's state for the next task. */
export interface ConsolidateOutput {
  methodStateRef?: ArtifactRef;
}

/** A quantized model: one ONNX file per head, listed in a JSON manifest artifact. */
export interface QuantizeOutput {
  manifestRef: ArtifactRef;
  bytes: number;
  /** The integer codes of every quantized weight (a tensors artifact), compared after the next task. */
  codesRef: ArtifactRef;
  /** Share of codes that changed since the previous task; absent after the first task. */
  bucketCrossingRate?: number;
  /**
   * The grid this quantizer coded the run's first task on (each weight's scales and zero points,
   * a tensors artifact), carried from task to task: `fixedGridCrossingRate` counts on it. A run
   * resumed from tasks finished before Retain kept it starts it at the first task it quantizes.
   */
  fixedGridRef?: ArtifactRef;
  /**
   * Share of weights whose code on the fixed grid (`fixedGridRef`, rounded to nearest) changed
   * since the previous task: weight drift alone, where `bucketCrossingRate` also counts codes that
   * moved because the scales were recomputed. Absent after the first task.
   */
  fixedGridCrossingRate?: number;
}
export interface QuantizedManifest {
  quantizerId: string;
  /** ONNX model ref per head. */
  heads: ArtifactRef[];
  bytes: number;
}

/** Artifacts of one finished task. */
export interface TaskModels {
  checkpointRef: ArtifactRef;
  quantized: Record<string, QuantizeOutput>;
  methodStateRef?: ArtifactRef;
}

/**
 * Everything a finished task adds to the results, stored as a JSON artifact so that the workflow
 * carries one ref however many tasks a run has. Each record names the one before: the records of
 * a run form a chain from its last task back to task 0, which `finishRun` walks.
 */
export interface TaskRecord {
  taskIndex: number;
  /**
   * Accuracy on every task after training this one, keyed `fp32` and by quantizer id (row taskIndex
   * of each matrix); null for a task the spec's evaluation policy did not evaluate after this one.
   */
  rows: Record<string, Array<number | null>>;
  /**
   * The spec's other evaluators after this task, by model (`fp32`, quantizer ids) and then
   * `<evaluator>.<result>`, one value per task (null where not evaluated, as in `rows`); absent
   * when the spec evaluates accuracy only.
   */
  evaluations?: Record<string, Record<string, Array<number | null>>>;
  models: TaskModels;
  training: TaskTrainingStats;
  /** The record of task taskIndex - 1; absent for task 0. */
  previousRef?: ArtifactRef;
}

export interface StartRunInput {
  spec: ExperimentSpec;
}
/** A prepared run: its tasks, the untrained model and that model's accuracy on every task. */
export interface StartRunOutput {
  info: RunInfo;
  /** Checkpoint of the initial (untrained) model, initialised from the spec's seed. */
  checkpointRef: ArtifactRef;
  /** JSON artifact: number[], the untrained fp32 model's accuracy per task (b in the metric definitions, docs/architecture.md). */
  initialRef: ArtifactRef;
  /**
   * JSON artifact: the untrained fp32 model's other evaluators' results, by `<evaluator>.<result>`,
   * one value per task (`perplexity.loss` is b of the loss's FWT); absent when the spec evaluates
   * accuracy only.
   */
  initialEvaluationsRef?: ArtifactRef;
}

/** After a task's training: the method's consolidation, every quantizer, every evaluation, and the task's record. */
export interface FinishTaskInput {
  spec: ExperimentSpec;
  taskIndex: number;
  /** What trainTask returned for this task. */
  trained: TrainTaskOutput;
  /** The previous task's models (its method state, its quantized codes) and record; absent for task 0. */
  previous?: FinishedTask;
}
/** A finished task as the workflow carries it to the next one: the refs the next task starts from. */
export interface FinishedTask {
  models: TaskModels;
  recordRef: ArtifactRef;
}
/** Heartbeat details of `finishTask`: which stage runs, and the stages done so far (a retry skips them). */
export interface FinishTaskHeartbeat {
  taskIndex: number;
  phase: Extract<RunPhase, 'consolidating' | 'quantizing' | 'evaluating'>;
  /** Set once consolidation is done (methodStateRef may be absent for a method without state). */
  consolidated?: ConsolidateOutput;
  quantized?: Record<string, QuantizeOutput>;
}

export interface FinishRunInput {
  state: ExperimentState;
}

/** Orchestration state carried across continue-as-new: a fixed handful of refs, whatever the number of tasks. */
export interface ExperimentState {
  runId: string;
  spec: ExperimentSpec;
  info: RunInfo;
  nextTask: number;
  initialCheckpointRef: ArtifactRef;
  /** See StartRunOutput.initialRef. */
  initialRef: ArtifactRef;
  /** See StartRunOutput.initialEvaluationsRef; absent when the spec evaluates accuracy only (or the run predates it). */
  initialEvaluationsRef?: ArtifactRef;
  /** The last finished task (task nextTask - 1); absent before the first. */
  last?: FinishedTask;
  startedAt: string;
  /** Set when this run continues a failed or cancelled one (`retain resume`): that run and its first task not done. */
  resumedFrom?: { runId: string; task: number };
  /**
   * What trainTask returned for task `nextTask` in the run this one resumes, which failed after
   * that training (in finishTask), when this run trains the same way: the task is finished from
   * it instead of trained again. Only `retain resume` sets it.
   */
  nextTaskTrained?: TrainTaskOutput;
  /**
   * The last mid-task checkpoint of task `nextTask` in the run this one resumes, which was cancelled
   * (or timed out) while training it, when this run trains the same way: the task's first trainTask
   * continues from it instead of step 0, to the same bytes. Only `retain resume` sets it.
   */
  nextTaskResumeFrom?: TrainResumePoint;
}

export interface ExperimentInput {
  spec: ExperimentSpec;
  /** Present when the workflow continues as new after a task, or resumes another run's tasks. */
  state?: ExperimentState;
  /** A pause carried across continue-as-new. */
  paused?: boolean;
}

/** What results.json holds. Stored as a JSON artifact by `finishRun`: its matrices are T x T, too big for a Temporal payload. */
export interface ExperimentResult {
  runId: string;
  spec: ExperimentSpec;
  tasks: string[];
  initial: number[];
  /**
   * The untrained fp32 model's `perplexity.loss` per task: b of the loss's FWT. Present only when
   * the spec lists the perplexity evaluator (and the run's start kept it).
   */
  initialLoss?: number[];
  /** R[i][j] per model; a cell is null where the spec's evaluation policy skipped it (`evaluation.tasks`). */
  matrices: Record<string, AccuracyMatrix>;
  metrics: Record<string, CLMetrics>;
  /** fp32 minus quantized, per cell, for each quantizer (null where a cell was not evaluated). */
  quantizationGap: Record<string, AccuracyMatrix>;
  /** Per quantizer: gaps, quantization-induced forgetting, bucket-crossing rates, bytes. */
  quantization: Record<string, QuantizationMetrics>;
  /**
   * The spec's other evaluators as matrices like `matrices` (row i after task i), by model and then
   * `<evaluator>.<result>`; a row is null for a task that did not run that evaluator (a run resumed
   * with other evaluators), a cell null where not evaluated. Absent when the spec evaluates accuracy only.
   */
  evaluations?: Record<string, Record<string, Array<Array<number | null> | null>>>;
  /**
   * Per model, the loss metrics of its `perplexity.loss` matrix in `evaluations` (final loss and
   * perplexity, BWT and forgetting on the loss: lower is better, positive = forgot). Present only
   * when the spec lists the perplexity evaluator, for the models every task evaluated with it.
   */
  lossMetrics?: Record<string, LossMetrics>;
  training: TaskTrainingStats[];
  models: TaskModels[];
  startedAt: string;
  finishedAt: string;
  resumedFrom?: { runId: string; task: number };
}

/** What experimentWorkflow returns: where its results are (load them with `experimentResultOf` from @retain/worker). */
export interface ExperimentOutcome {
  runId: string;
  /** The ExperimentResult, as a JSON artifact (the bytes of results.json but for formatting). */
  resultRef: ArtifactRef;
  tasks: number;
  startedAt: string;
  finishedAt: string;
  resumedFrom?: { runId: string; task: number };
}

export type RunPhase = 'preparing' | 'training' | 'consolidating' | 'quantizing' | 'evaluating' | 'finishing' | 'done';

/** Answer of the workflow's `progress` query. */
export interface RunProgress {
  runId: string;
  /** The workflow's phase; while a task is after training, finishTask's heartbeat has the precise one (consolidating, quantizing, evaluating). */
  phase: RunPhase;
  /** Task being worked on, 0-based. */
  task: number;
  tasks: number;
  taskNames: string[];
  /** Paused by `retain pause`: waits at the next phase (training stops at once, keeping its checkpoint). */
  paused: boolean;
  resumedFrom?: { runId: string; task: number };
  /** When the run started (its first task), ISO 8601; absent until it is prepared. */
  startedAt?: string;
}

/** The activities a Retain worker registers, one per step of a run; workflows import this type only. */
export interface RetainActivities {
  /** The run's tasks, the untrained model and its accuracy on every task. */
  startRun(input: StartRunInput): Promise<StartRunOutput>;
  /** Trains one task, checkpointing as it goes; a retry resumes from the last checkpoint. */
  trainTask(input: TrainTaskInput): Promise<TrainTaskOutput>;
  /** The method's consolidation, every quantizer, every evaluation and the task's record: one activity per task. */
  finishTask(input: FinishTaskInput): Promise<FinishedTask>;
  /** Walks the task records, assembles the matrices and metrics, stores the ExperimentResult. */
  finishRun(input: FinishRunInput): Promise<ExperimentOutcome>;
}
