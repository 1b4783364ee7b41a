import { existsSync, readFileSync, statSync } from 'node:fs';
import { openArtifactStore } from '@retain/artifacts';
import type { ArtifactRef, ExperimentResult, SweepResult } from '@retain/sdk';
import type { Client } from '@temporalio/client';
import { paths } from './connection';
import { BadInputError } from './output';

/** The workflow type of a sweep (workflows/src/sweep.ts); every other workflow Retain starts is a run. */
export const SWEEP_WORKFLOW_TYPE = 'sweepWorkflow';

/** A finished run's or sweep's results, however they were named on the command line. */
export type LoadedResults = { kind: 'run'; id: string; result: ExperimentResult } | { kind: 'sweep'; id: string; result: SweepResult };

/** True when `ref` names a results file (results.json or sweep.json) rather than a run or sweep id. */
export function isResultsFile(ref: string): boolean {
  return ref.endsWith('.json') && existsSync(ref) && statSync(ref).isFile();
}

/** Reads results.json or sweep.json, telling them apart by their fields. */
export function loadResultsFile(path: string): LoadedResults {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BadInputError(`${path}: not a JSON file (${(err as Error).message})`);
  }
  const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  if (typeof fields.sweepId === 'string' && Array.isArray(fields.groups))
    return { kind: 'sweep', id: fields.sweepId, result: parsed as SweepResult };
  if (typeof fields.runId === 'string' && typeof fields.matrices === 'object')
    return { kind: 'run', id: fields.runId, result: parsed as ExperimentResult };
  throw new BadInputError(`${path}: neither a run's results.json nor a sweep's sweep.json (no runId and matrices, no sweepId and groups)`);
}

/**
 * A finished run's or sweep's results by id, from the Temporal server (which workflow it is, and
 * where its results artifact is) and this machine's artifact store. A run or sweep still going, or
 * one that failed, is bad input with what to do instead.
 */
export async function loadResultsById(client: Client, id: string): Promise<LoadedResults> {
  const handle = client.workflow.getHandle(id);
  const description = await handle.describe(); // WorkflowNotFoundError: main says "no run X"
  const kind = description.type === SWEEP_WORKFLOW_TYPE ? 'sweep' : 'run';
  const status = description.status.name;
  if (status === 'RUNNING')
    throw new BadInputError(`${kind} ${id} is still running; \`retain result ${id}\` waits for it and prints its results`);
  if (status !== 'COMPLETED')
    throw new BadInputError(
      `${kind} ${id} ${status.toLowerCase().replace(/_/g, ' ')}; it has no results (\`retain resume ${id}\` continues it)`,
    );
  const outcome = (await handle.result()) as { resultRef: ArtifactRef };
  const store = openArtifactStore(paths().artifacts);
  return kind === 'sweep'
    ? { kind, id, result: await store.getJson<SweepResult>(outcome.resultRef) }
    : { kind, id, result: await store.getJson<ExperimentResult>(outcome.resultRef) };
}
