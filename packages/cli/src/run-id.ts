import { relative, resolve, sep } from 'node:path';
import { InvalidArgumentError } from 'commander';

/**
 * Run ids name Temporal workflows and the result folders under `<state>/runs`, so they must be
 * safe file names: no separators, no `..`, not empty, and short enough for any file system
 * (a spec name is at most 100 characters; a generated id adds 21, a resumed one 13 more).
 */
export const RUN_ID_MAX_LENGTH = 200;
// ":" because a Temporal Schedule names each run it starts `<id>-<firing time, RFC 3339>` (retain schedule).
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
export const RUN_ID_FORM = 'a letter or digit, then up to 199 letters, digits, ".", "_", "-" or ":" (no "..")';

/** Why `id` is not a safe run id, or undefined when it is. */
export function runIdProblem(id: string): string | undefined {
  if (id === '') return `the run id is empty; use ${RUN_ID_FORM}`;
  if (!RUN_ID_PATTERN.test(id) || id.includes('..')) return `'${id}' is not a run id; use ${RUN_ID_FORM}`;
  return undefined;
}

/** Commander's argParser for every run id the CLI accepts (`<runId>` arguments, `--id`): refuses before any server contact. */
export function parseRunId(value: string): string {
  const problem = runIdProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** `<runs>/<runId>`, checked to stay inside `runs` (the id's pattern already ensures it; this guards the path itself). */
export function runResultsDir(runs: string, runId: string): string {
  const dir = resolve(runs, runId);
  const rel = relative(resolve(runs), dir);
  if (runIdProblem(runId) || rel === '' || rel.startsWith('..') || rel.includes(sep)) {
    throw new InvalidArgumentError(`run id '${runId}' would write results outside ${runs}; use ${RUN_ID_FORM}`);
  }
  return dir;
}
