import type { ArtifactRef, ArtifactStore } from '@retain/artifacts';
import {
  summarizeGroups,
  sweepRunSummary,
  type ExperimentResult,
  type SweepActivities,
  type SweepCellOutcome,
  type SweepPlan,
  type SweepResult,
  type SweepRunSummary,
} from '@retain/sdk';

/** Sweep plans a worker keeps parsed: a plan is read once per batch of cells, and a large one is megabytes of JSON. */
const PLANS_KEPT = 4;
/** Results read at once while aggregating. */
const READ_CONCURRENCY = 16;

/**
 * The sweep workflow's activities: the next cells' inputs from the plan artifact (workflow code
 * cannot read the store), and the aggregation of the completed cells' results into the
 * SweepResult (sweep.json) artifact.
 */
export function createSweepActivities(artifacts: ArtifactStore): SweepActivities {
  // Content-addressed, so a cached plan is never stale.
  const plans = new Map<ArtifactRef, Promise<SweepPlan>>();
  const planOf = (ref: ArtifactRef): Promise<SweepPlan> => {
    let plan = plans.get(ref);
    if (!plan) {
      plan = artifacts.getJson<SweepPlan>(ref);
      plans.set(ref, plan);
      plan.catch(() => plans.delete(ref));
      if (plans.size > PLANS_KEPT) plans.delete(plans.keys().next().value!);
    }
    return plan;
  };

  return {
    async sweepCells({ planRef, indices }) {
      const plan = await planOf(planRef);
      return indices.map((index) => {
        const cell = plan.cells[index];
        if (!cell) throw new Error(`sweep ${plan.sweepId}: its plan has ${plan.cells.length} cells, no cell ${index}`);
        return { index, runId: cell.runId, input: cell.input };
      });
    },

    async finishSweep({ sweepId, planRef, ended, startedAt }) {
      const plan = await planOf(planRef);
      const cells: SweepCellOutcome[] = plan.cells.map(({ input: _input, ...cell }) => {
        const end = ended[cell.index];
        if (!end) return { ...cell, status: 'pending' };
        const { runId, ...rest } = end;
        // A cell completed by the sweep this one resumes keeps that run's id.
        return { ...cell, runId: runId ?? cell.runId, ...rest };
      });
      const completed = cells.filter((c) => c.status === 'completed' && c.resultRef);
      const runs: Record<string, SweepRunSummary> = {};
      for (let i = 0; i < completed.length; i += READ_CONCURRENCY) {
        const batch = completed.slice(i, i + READ_CONCURRENCY);
        const results = await Promise.all(batch.map((c) => artifacts.getJson<ExperimentResult>(c.resultRef!)));
        results.forEach((result, k) => (runs[batch[k].runId] = sweepRunSummary(result)));
      }
      const result: SweepResult = {
        sweepId,
        spec: plan.spec,
        cells,
        groups: summarizeGroups(cells, runs),
        runs,
        startedAt,
        finishedAt: new Date().toISOString(),
      };
      const resultRef = await artifacts.putJson(result);
      return { sweepId, resultRef, cells: cells.length, completed: completed.length, failed: cells.length - completed.length };
    },
  };
}
