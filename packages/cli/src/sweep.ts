import type { ArtifactStore } from '@retain/artifacts';
import {
  cellRunId,
  checkResumableSweep,
  DEFAULT_SWEEP_CONTINUE_AS_NEW_AFTER_EVENTS,
  expandSweep,
  SpecError,
  SpecErrors,
  type ExperimentInput,
  type PluginRegistry,
  type SweepCellEnd,
  type SweepExpansion,
  type SweepInput,
  type SweepPlan,
} from '@retain/sdk';
import { runPriority, specQueues, sweepSearchAttributes } from '@retain/workflows';
import { defaultPayloadConverter, type Client } from '@temporalio/client';
import type { Priority, SearchAttributePair } from '@temporalio/common';
import { resumeInput } from './control';
import { BadInputError } from './output';
import { SWEEP_WORKFLOW_TYPE } from './results-source';
import { runIdProblem } from './run-id';

/**
 * A sweep from the CLI's side: expanding and checking a sweep spec, the plan artifact, the
 * workflow start, resuming, and the progress line. The workflow is workflows/src/sweep.ts.
 */

/** Every cell of the sweep spec `raw`, validated, with run ids checked to be safe (they name folders). */
export function planSweep(raw: unknown, registry: PluginRegistry, sweepId: string): SweepExpansion {
  const expansion = expandSweep(raw, registry, sweepId);
  const longest = expansion.cells[expansion.cells.length - 1]?.runId ?? sweepId;
  const problem = runIdProblem(longest);
  if (problem) throw new SpecErrors([new SpecError('', `sweep id '${sweepId}' makes cell run ids like '${longest}': ${problem}`)]);
  return expansion;
}

/** The plan artifact of a fresh sweep: every cell's validated input. */
export function planOf(sweepId: string, expansion: SweepExpansion): SweepPlan {
  return {
    sweepId,
    spec: expansion.spec,
    cells: expansion.cells.map(({ spec, ...cell }) => ({ ...cell, input: { spec } })),
  };
}

/** Everything `client.workflow.start` needs to start a sweep (also what a Temporal Schedule's action holds). */
export interface SweepWorkflowStart {
  workflowType: typeof SWEEP_WORKFLOW_TYPE;
  workflowId: string;
  taskQueue: string;
  args: [SweepInput];
  typedSearchAttributes: SearchAttributePair[];
  /** `execution.priority` of the base spec; children inherit it (Temporal passes a parent's priority on). */
  priority?: Priority;
}

/**
 * The start of a sweep whose plan is stored at `planRef`: on the base spec's workflow queue, its
 * own activities on the base spec's `finish` queue, with the sweep's search attributes.
 * `ended`: cells already done (a resumed sweep's completed cells).
 */
export function sweepWorkflowStart(plan: SweepPlan, planRef: string, ended: Record<number, SweepCellEnd> = {}): SweepWorkflowStart {
  const spec = plan.spec;
  const sweep = spec.sweep as { parallel: number; continueAsNewAfterEvents?: number };
  const queues = specQueues(spec);
  const priority = runPriority(spec);
  return {
    workflowType: SWEEP_WORKFLOW_TYPE,
    workflowId: plan.sweepId,
    taskQueue: queues.workflow,
    args: [
      {
        sweepId: plan.sweepId,
        planRef,
        cells: plan.cells.length,
        parallel: sweep.parallel,
        activityQueue: queues.finish,
        continueAsNewAfterEvents: sweep.continueAsNewAfterEvents ?? DEFAULT_SWEEP_CONTINUE_AS_NEW_AFTER_EVENTS,
        ended,
      },
    ],
    typedSearchAttributes: sweepSearchAttributes(spec, plan.sweepId),
    ...(priority ? { priority } : {}),
  };
}

/** Stores the plan and builds the sweep's start: what `retain sweep` (and `retain schedule`) start. */
export async function prepareSweep(
  store: ArtifactStore,
  plan: SweepPlan,
  ended: Record<number, SweepCellEnd> = {},
): Promise<SweepWorkflowStart> {
  // JSON as is, not putJson's canonical (sorted) form: each cell's input then reaches its run exactly
  // as `retain run` would send it, field order included (resume compares specs field by field).
  return sweepWorkflowStart(plan, await store.put(new TextEncoder().encode(JSON.stringify(plan))), ended);
}

/**
 * A sweep spec (as parsed from YAML) to its workflow start in one call: every cell validated
 * (SpecErrors naming cell and field), the plan stored. What `retain schedule` needs: the start's
 * type, id, task queue, input and search attributes. Cell run ids derive from `sweepId`, so each
 * start of a recurring sweep needs its own.
 */
export async function sweepStartFromSpec(
  raw: unknown,
  registry: PluginRegistry,
  sweepId: string,
  store: ArtifactStore,
): Promise<SweepWorkflowStart> {
  return prepareSweep(store, planOf(sweepId, planSweep(raw, registry, sweepId)));
}

/** Every task queue a sweep's cells and its own workflow and activities use: what a worker that runs the whole sweep polls. */
export function sweepTaskQueues(plan: SweepPlan): string[] {
  const queues = new Set<string>(Object.values(specQueues(plan.spec)));
  for (const cell of plan.cells) for (const q of Object.values(specQueues(cell.input.spec))) queues.add(q);
  return [...queues];
}

/** The input a sweep started with (its latest execution's: carried across continue-as-new). */
export async function sweepInputOf(client: Client, sweepId: string): Promise<SweepInput> {
  const history = await client.workflow.getHandle(sweepId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new BadInputError(`sweep ${sweepId}: its history has no start input; it is not a Retain sweep`);
  return defaultPayloadConverter.fromPayload<SweepInput>(payload);
}

/** Whether `id` names a sweep on the server (false for a run; WorkflowNotFoundError for neither). */
export async function isSweep(client: Client, id: string): Promise<boolean> {
  return (await client.workflow.getHandle(id).describe()).type === SWEEP_WORKFLOW_TYPE;
}

/**
 * The plan and carried cells of a new sweep that reruns the failed and missing cells of
 * `oldSweepId` and keeps its completed ones. Each cell's run is asked for on the server: a
 * completed one is kept (its results ref carried), a failed or cancelled one is resumed after its
 * last finished task (`resumeInput`), one never started starts afresh. `corrected` (the sweep
 * spec again, fixed) gives the rerun cells their specs; it must have the same cells.
 */
export async function resumeSweepPlan(
  client: Client,
  store: ArtifactStore,
  oldSweepId: string,
  newSweepId: string,
  corrected?: SweepExpansion,
): Promise<{ plan: SweepPlan; ended: Record<number, SweepCellEnd>; reran: number }> {
  const status = (await client.workflow.getHandle(oldSweepId).describe()).status.name;
  if (status === 'RUNNING')
    throw new BadInputError(`sweep ${oldSweepId} is still running: \`retain cancel ${oldSweepId}\` first, or let it finish`);
  const input = await sweepInputOf(client, oldSweepId);
  const old = await store.getJson<SweepPlan>(input.planRef);
  if (corrected) checkResumableSweep(old, corrected);
  const carried = input.ended ?? {};
  const ended: Record<number, SweepCellEnd> = {};
  const cells: SweepPlan['cells'] = [];
  const n = old.cells.length;
  for (const cell of old.cells) {
    const runId = cellRunId(newSweepId, cell.index, n);
    const spec = corrected?.cells[cell.index].spec;
    const before = carried[cell.index];
    const keep = (end: SweepCellEnd) => {
      ended[cell.index] = end;
      cells.push({ ...cell, input: cell.input });
    };
    if (before?.status === 'completed') {
      keep(before);
      continue;
    }
    const handle = client.workflow.getHandle(cell.runId);
    const runStatus = await handle
      .describe()
      .then((d) => d.status.name)
      .catch(() => undefined);
    if (runStatus === 'RUNNING')
      throw new BadInputError(`cell ${cell.index}'s run ${cell.runId} is still running: wait for it, or \`retain cancel ${cell.runId}\``);
    if (runStatus === 'COMPLETED') {
      const outcome = (await handle.result()) as { resultRef: string };
      keep({ status: 'completed', resultRef: outcome.resultRef, runId: cell.runId });
      continue;
    }
    const next: ExperimentInput =
      runStatus === undefined ? { spec: spec ?? cell.input.spec } : await resumeInput(client, cell.runId, runId, spec);
    cells.push({ ...cell, runId, input: next });
  }
  const reran = cells.filter((c) => ended[c.index] === undefined).length;
  if (reran === 0)
    throw new BadInputError(
      `sweep ${oldSweepId}: every cell completed; there is nothing to resume (\`retain result ${oldSweepId}\` shows it)`,
    );
  return { plan: { sweepId: newSweepId, spec: corrected?.spec ?? old.spec, cells, resumedFrom: oldSweepId }, ended, reran };
}
