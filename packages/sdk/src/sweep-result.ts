import type { AccuracyMatrix, CLMetrics, LossMatrix, LossMetrics, QuantizationMetrics, SeedStat } from '@retain/metrics';
import type { ArtifactRef } from '@retain/artifacts';
import type { ExperimentSpec } from './spec';

// The contract between a sweep (the workflow that runs its cells), its aggregation (sweep.json,
// sweep.csv) and everything that reads one (report, compare, ls, show). Types only, so the
// workflow sandbox may import them.

/** One cell of a sweep: one run, i.e. one variant of the base spec with one seed. */
export interface SweepCell {
  /** Position in the sweep's expansion order (stable for a given sweep spec). */
  index: number;
  /** The cell's run id (also its child workflow id): `<sweepId>-c<index>` zero-padded. */
  runId: string;
  /** Field path -> value the cell sets on the base spec (without the seed), e.g. {"method": "ewc"}. */
  overrides: Record<string, unknown>;
  seed: number;
  /** The overrides as one readable, stable key, e.g. `method=ewc quantizers=rtn-int8`; equal for a cell's seeds. */
  group: string;
}

export type SweepCellStatus = 'completed' | 'failed' | 'cancelled' | 'running' | 'pending';

/** A cell's end state; `resultRef` (the run's ExperimentResult artifact) when completed. */
export interface SweepCellOutcome extends SweepCell {
  status: SweepCellStatus;
  resultRef?: ArtifactRef;
  /** Why a failed or cancelled cell ended, in one line. */
  error?: string;
}

/** What one completed run contributes to its sweep's result: its numbers, not its artifacts. */
export interface SweepRunSummary {
  runId: string;
  tasks: string[];
  /** R[i][j] per model (fp32 and each quantizer id), as in results.json. */
  matrices: Record<string, AccuracyMatrix>;
  metrics: Record<string, CLMetrics>;
  quantization: Record<string, QuantizationMetrics>;
  /**
   * The perplexity evaluator's loss matrices L[i][j] (`perplexity.loss` of results.json's
   * `evaluations`) and their loss metrics, per model; present only when the run has them, so
   * sweeps without that evaluator keep their sweep.json as it was.
   */
  lossMatrices?: Record<string, LossMatrix>;
  lossMetrics?: Record<string, LossMetrics>;
}

/** The metrics of one group (a variant over its seeds), mean ± std per model. */
export interface SweepGroupSummary {
  group: string;
  overrides: Record<string, unknown>;
  /** Completed runs of this group, in seed order, and their seeds. */
  runIds: string[];
  seeds: number[];
  /** Per model (fp32, then each quantizer id): acc, bwt, fwt, forgetting over the seeds. */
  metrics: Record<string, Record<keyof CLMetrics, SeedStat>>;
  /** Per quantizer id: accGap, meanGap, quantizationInducedForgetting over the seeds. */
  quantization: Record<string, Record<'accGap' | 'meanGap' | 'quantizationInducedForgetting', SeedStat>>;
  /** Per model: loss, perplexity, bwt, fwt, forgetting of the runs' lossMetrics over the seeds; present only when a run has them. */
  lossMetrics?: Record<string, Record<keyof LossMetrics, SeedStat>>;
}

/** A sweep's results: the artifact its workflow stores and the bytes of sweep.json. */
export interface SweepResult {
  sweepId: string;
  /** The base spec as written in the sweep file (its `sweep:` section included), validated. */
  spec: ExperimentSpec & { sweep: unknown };
  cells: SweepCellOutcome[];
  groups: SweepGroupSummary[];
  /** Every completed run's matrices and metrics, by run id. */
  runs: Record<string, SweepRunSummary>;
  startedAt: string;
  finishedAt: string;
}
