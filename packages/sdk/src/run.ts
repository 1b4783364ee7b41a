import type { CLMetrics, QuantizationMetrics } from '@retain/metrics';
import type { ExperimentSpec } from './spec';

/**
 * What flows between the CLI, the workflow and the activities. Only refs and small numbers:
 * tensors live in the artifact store, never in Temporal payloads.
 */

/** `sha256:<hex>` of a blob in the artifact store. */
export type ArtifactRef = string;

/** The key of the unquantized model's matrix; quantizers use their spec ids. */
export const FP32 = 'fp32';

export interface RunInfo {
  taskNames: string[];
  heads: number;
  classesPerHead: number;
}

export interface PrepareRunInput {
  spec: ExperimentSpec;
}
export interface PrepareRunOutput {
  info: RunInfo;
  /** Checkpoint of the initial (untrained) model. */
  checkpointRef: ArtifactRef;
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
  samples: number;
  seconds: number;
  finalLoss: number;
  samplesPerSec: number;
  /** The step the finishing attempt resumed at from a mid-task checkpoint; absent when it trained from step 0. */
  resumedAt?: number;
}
export interface TrainTaskOutput extends TaskTrainingStats {
  checkpointRef: ArtifactRef;
  /** The method's step state at the end of the task (e.g. SI's path integral), for `consolidate`. */
  methodStepStateRef?: ArtifactRef;
}

export interface ConsolidateInput {
  spec: ExperimentSpec;
  taskIndex: number;
  checkpointRef: ArtifactRef;
  methodStateRef?: ArtifactRef;
  /** What trainTask returned as `methodStepStateRef`. */
  methodStepStateRef?: ArtifactRef;
}
export interface ConsolidateOutput {
  methodStateRef?: ArtifactRef;
}

export interface QuantizeInput {
  spec: ExperimentSpec;
  taskIndex: number;
  checkpointRef: ArtifactRef;
  quantizerId: string;
  /** The same quantizer's codes after the previous task, for the bucket-crossing rate. */
  previousCodesRef?: ArtifactRef;
}
/** A quantized model: one ONNX file per head, listed in a JSON manifest artifact. */
export interface QuantizeOutput {
  manifestRef: ArtifactRef;
  bytes: number;
  /** The integer codes of every quantized weight (a tensors artifact), compared after the next task. */
  codesRef: ArtifactRef;
  /** Share of codes that changed since the previous task; absent after the first task. */
  bucketCrossingRate?: number;
}
export interface QuantizedManifest {
  quantizerId: string;
  /** ONNX model ref per head. */
  heads: ArtifactRef[];
  bytes: number;
}

export interface EvaluateInput {
  spec: ExperimentSpec;
  /** `fp32` or a quantizer id, for logs and errors. */
  variant: string;
  checkpointRef: ArtifactRef;
  /** Set for a quantized variant; absent for fp32. */
  manifestRef?: ArtifactRef;
}
export interface EvaluateOutput {
  /** Accuracy on every task, seen or not, in task order. */
  accuracy: number[];
  /** Other evaluators' results by name, one value per task. */
  extra: Record<string, number[]>;
}

/** Artifacts of one finished task. */
export interface TaskModels {
  checkpointRef: ArtifactRef;
  quantized: Record<string, QuantizeOutput>;
  methodStateRef?: ArtifactRef;
}

/** Orchestration state carried across continue-as-new: refs and metrics only. */
export interface ExperimentState {
  runId: string;
  spec: ExperimentSpec;
  info: RunInfo;
  nextTask: number;
  initialCheckpointRef: ArtifactRef;
  /** Accuracy of the untrained fp32 model on each task (b in DESIGN.md §6). */
  initial: number[];
  /** Rows so far of every accuracy matrix, keyed `fp32` and by quantizer id. */
  matrices: Record<string, number[][]>;
  tasks: TaskModels[];
  training: TaskTrainingStats[];
  startedAt: string;
  /** Set when this run continues a failed or cancelled one (`retain resume`): that run and its first task not done. */
  resumedFrom?: { runId: string; task: number };
}

export interface ExperimentInput {
  spec: ExperimentSpec;
  /** Present when the workflow continues as new after a task, or resumes another run's tasks. */
  state?: ExperimentState;
  /** A pause carried across continue-as-new. */
  paused?: boolean;
}

export interface ExperimentResult {
  runId: string;
  spec: ExperimentSpec;
  tasks: string[];
  initial: number[];
  matrices: Record<string, number[][]>;
  metrics: Record<string, CLMetrics>;
  /** fp32 minus quantized, per cell, for each quantizer. */
  quantizationGap: Record<string, number[][]>;
  /** Per quantizer: gaps, quantization-induced forgetting, bucket-crossing rates, bytes. */
  quantization: Record<string, QuantizationMetrics>;
  training: TaskTrainingStats[];
  models: TaskModels[];
  startedAt: string;
  finishedAt: string;
  resumedFrom?: { runId: string; task: number };
}

export type RunPhase = 'preparing' | 'training' | 'consolidating' | 'quantizing' | 'evaluating' | 'done';

/** Answer of the workflow's `progress` query. */
export interface RunProgress {
  runId: string;
  phase: RunPhase;
  /** Task being worked on, 0-based. */
  task: number;
  tasks: number;
  taskNames: string[];
  /** Rows of the fp32 matrix so far. */
  fp32Rows: number[][];
  training: TaskTrainingStats[];
  /** Paused by `retain pause`: waits at the next phase (training stops at once, keeping its checkpoint). */
  paused: boolean;
  resumedFrom?: { runId: string; task: number };
  /** When the run started (its first task), ISO 8601; absent until it is prepared. */
  startedAt?: string;
}

/** The activities a Retain worker registers; workflows import this type only. */
export interface RetainActivities {
  prepareRun(input: PrepareRunInput): Promise<PrepareRunOutput>;
  trainTask(input: TrainTaskInput): Promise<TrainTaskOutput>;
  consolidate(input: ConsolidateInput): Promise<ConsolidateOutput>;
  quantize(input: QuantizeInput): Promise<QuantizeOutput>;
  evaluate(input: EvaluateInput): Promise<EvaluateOutput>;
}
