import type { ArtifactRef, ExperimentInput } from './run';
import type { ExperimentSpec } from './spec';
import type { SweepCell, SweepCellStatus } from './sweep-result';

/**
 * What flows between the CLI, the sweep workflow (workflows/src/sweep.ts) and its activities.
 * Types only (workflow-safe). Cells' specs never travel in the workflow's input: they are in the
 * plan, one JSON artifact, and an activity hands the workflow the next batch of inputs to start.
 */

/** A cell as the plan holds it: where it stands in the sweep and the input its run starts with. */
export interface PlannedSweepCell extends SweepCell {
  input: ExperimentInput;
}

/** The sweep plan artifact, stored by the CLI before the sweep starts. */
export interface SweepPlan {
  sweepId: string;
  /** The sweep spec as validated (base spec with its `sweep:` section). */
  spec: ExperimentSpec & { sweep: unknown };
  cells: PlannedSweepCell[];
  /** Set when this sweep reruns the failed and missing cells of another (`retain resume`). */
  resumedFrom?: string;
}

/** A cell that has ended: its status, the run's results when completed, else why in one line. */
export interface SweepCellEnd {
  status: Extract<SweepCellStatus, 'completed' | 'failed' | 'cancelled'>;
  resultRef?: ArtifactRef;
  error?: string;
  /** The run that gave this end, when it is not the cell's planned run id (a cell completed by an earlier sweep, or a schedule's firing: `<firing id>-c<i>`). */
  runId?: string;
}

export interface SweepInput {
  sweepId: string;
  planRef: ArtifactRef;
  /** Cells in the plan. */
  cells: number;
  /** Cells running at once. */
  parallel: number;
  /** The task queue of the sweep's own activities (the plan's base spec's `finish` queue). */
  activityQueue: string;
  /** See SweepSection.continueAsNewAfterEvents. */
  continueAsNewAfterEvents: number;
  /** Cells already ended, by index: carried across continue-as-new; a resumed sweep starts with its completed cells here. */
  ended?: Record<number, SweepCellEnd>;
  /** ISO 8601 time the sweep started; carried across continue-as-new. */
  startedAt?: string;
  /** Cells the sweep had ended when its first execution started (a resumed sweep's carried cells), so ETA counts only this sweep's work. */
  endedAtStart?: number;
  paused?: boolean;
}

/** What a sweep workflow returns: where its SweepResult (sweep.json) is, and its counts. */
export interface SweepOutcome {
  sweepId: string;
  resultRef: ArtifactRef;
  cells: number;
  completed: number;
  failed: number;
}

/** Answer of the sweep's `sweepProgress` query. */
export interface SweepProgress {
  sweepId: string;
  cells: number;
  completed: number;
  failed: number;
  cancelled: number;
  running: number;
  pending: number;
  /** Run ids of the cells running now. */
  runningIds: string[];
  startedAt: string;
  endedAtStart: number;
  paused: boolean;
  phase: 'running' | 'draining' | 'finishing' | 'done';
}

export interface SweepCellsInput {
  planRef: ArtifactRef;
  indices: number[];
}

/** What the sweep needs to start one cell's run. */
export interface SweepCellStart {
  index: number;
  runId: string;
  input: ExperimentInput;
}

export interface FinishSweepInput {
  sweepId: string;
  planRef: ArtifactRef;
  ended: Record<number, SweepCellEnd>;
  startedAt: string;
}

/** The activities of a sweep (packages/worker/src/sweep.ts), on the base spec's `finish` queue. */
export interface SweepActivities {
  /** The run ids and inputs of the cells at `indices`, from the plan artifact: what the workflow starts next. */
  sweepCells(input: SweepCellsInput): Promise<SweepCellStart[]>;
  /** Loads every completed cell's results, aggregates them (summarizeGroups) and stores the SweepResult. */
  finishSweep(input: FinishSweepInput): Promise<SweepOutcome>;
}
