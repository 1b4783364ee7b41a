import { statOverSeeds, type CLMetrics, type LossMetrics } from '@retain/metrics';
import { LOSS_EVALUATION, type ExperimentResult } from './run';
import type { SweepCellOutcome, SweepGroupSummary, SweepRunSummary } from './sweep-result';

const CL_METRICS: Array<keyof CLMetrics> = ['acc', 'bwt', 'fwt', 'forgetting'];
const QUANTIZATION_METRICS = ['accGap', 'meanGap', 'quantizationInducedForgetting'] as const;
const LOSS_METRICS: Array<keyof LossMetrics> = ['loss', 'perplexity', 'bwt', 'fwt', 'forgetting'];

/** What a completed run contributes to its sweep: its numbers (matrices and metrics), no artifacts. */
export function sweepRunSummary(result: ExperimentResult): SweepRunSummary {
  const { runId, tasks, matrices, metrics, quantization, lossMetrics } = result;
  if (!lossMetrics) return { runId, tasks, matrices, metrics, quantization };
  // The loss matrices of the models that have loss metrics (every row evaluated with the perplexity evaluator).
  const lossMatrices = Object.fromEntries(
    Object.keys(lossMetrics).map((model) => [
      model,
      (result.evaluations?.[model]?.[LOSS_EVALUATION] ?? []).map((row) => row ?? tasks.map(() => null)),
    ]),
  );
  return { runId, tasks, matrices, metrics, quantization, lossMatrices, lossMetrics };
}

/**
 * Each group's metrics over its completed cells (its seeds), in the order groups first appear among
 * the cells. A model or quantizer that only some runs of a group have counts only those runs (`n`).
 */
export function summarizeGroups(cells: SweepCellOutcome[], runs: Record<string, SweepRunSummary>): SweepGroupSummary[] {
  const byGroup = new Map<string, SweepCellOutcome[]>();
  for (const cell of [...cells].sort((a, b) => a.index - b.index)) {
    const members = byGroup.get(cell.group) ?? [];
    members.push(cell);
    byGroup.set(cell.group, members);
  }
  return [...byGroup.values()].map((members) => {
    const done = members.filter((c) => c.status === 'completed' && runs[c.runId]).sort((a, b) => a.seed - b.seed);
    const summaries = done.map((c) => runs[c.runId]);
    const metrics: SweepGroupSummary['metrics'] = {};
    for (const model of keysInOrder(summaries.map((s) => s.metrics))) {
      metrics[model] = Object.fromEntries(
        CL_METRICS.map((m) => [m, statOverSeeds(summaries.map((s) => s.metrics[model]?.[m]))]),
      ) as SweepGroupSummary['metrics'][string];
    }
    const quantization: SweepGroupSummary['quantization'] = {};
    for (const quantizer of keysInOrder(summaries.map((s) => s.quantization))) {
      quantization[quantizer] = Object.fromEntries(
        QUANTIZATION_METRICS.map((m) => [m, statOverSeeds(summaries.map((s) => s.quantization[quantizer]?.[m]))]),
      ) as SweepGroupSummary['quantization'][string];
    }
    const lossMetrics: NonNullable<SweepGroupSummary['lossMetrics']> = {};
    for (const model of keysInOrder(summaries.map((s) => s.lossMetrics ?? {}))) {
      lossMetrics[model] = Object.fromEntries(
        LOSS_METRICS.map((m) => [m, statOverSeeds(summaries.map((s) => s.lossMetrics?.[model]?.[m]))]),
      ) as NonNullable<SweepGroupSummary['lossMetrics']>[string];
    }
    return {
      group: members[0].group,
      overrides: members[0].overrides,
      runIds: done.map((c) => c.runId),
      seeds: done.map((c) => c.seed),
      metrics,
      quantization,
      ...(Object.keys(lossMetrics).length ? { lossMetrics } : {}),
    };
  });
}

/** The keys of several records, each once, in the order first seen (fp32 first, as runs write it). */
function keysInOrder(records: Array<Record<string, unknown>>): string[] {
  return [...new Set(records.flatMap((r) => Object.keys(r ?? {})))];
}
