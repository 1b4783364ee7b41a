import type { Client } from '@temporalio/client';
import { withClient } from './connection';
import { BadInputError } from './output';
import { isResultsFile, loadResultsById, loadResultsFile, type LoadedResults } from './results-source';
import { runIdProblem } from './run-id';

// The `<run|sweep>` argument of compare, show and export-metrics: a run or sweep id on the Temporal
// server, or a results.json / sweep.json file (read without any server).

/** Checks one argument before anything connects: an existing results file, or a well-formed id. */
export function parseResultsRef(value: string): string {
  if (isResultsFile(value)) return value;
  if (value.endsWith('.json') || value.includes('/'))
    throw new BadInputError(`${value}: no such file; name a run's results.json, a sweep's sweep.json, or a run or sweep id`);
  const problem = runIdProblem(value);
  if (problem) throw new BadInputError(`${problem}, or a results.json / sweep.json file`);
  return value;
}

/**
 * Loads each argument's results in order. Files need no server; ids are read through one
 * connection, made only when there is an id.
 */
export async function loadResults(refs: string[]): Promise<LoadedResults[]> {
  const checked = refs.map(parseResultsRef);
  if (checked.every(isResultsFile)) return checked.map(loadResultsFile);
  return withClient((client) => loadEach(client, checked));
}

async function loadEach(client: Client, refs: string[]): Promise<LoadedResults[]> {
  const loaded: LoadedResults[] = [];
  for (const ref of refs) loaded.push(isResultsFile(ref) ? loadResultsFile(ref) : await loadResultsById(client, ref));
  return loaded;
}
