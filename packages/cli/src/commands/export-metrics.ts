import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ExperimentResult, SweepResult } from '@retain/sdk';
import { BadInputError, log } from '../output';
import { loadResults } from '../results-args';
import { runIdProblem } from '../run-id';
import { eventFile, eventFileName } from '../tensorboard';
import { runScalars, type RunNumbers } from '../tracker-scalars';

/** The trackers `export-metrics` writes for. */
export const EXPORT_FORMATS = ['tensorboard'] as const;

/** `retain export-metrics <run|sweep> --to tensorboard DIR`: a run's or sweep's numbers as a tracker's files. */
export function addExportMetricsCommand(program: Command): void {
  program
    .command('export-metrics')
    .description(
      "write a run's or sweep's metrics for an experiment tracker: TensorBoard event files, one run folder per run " +
        '(per cell of a sweep), steps = tasks',
    )
    .argument('<run>', 'a run or sweep id, or a results.json / sweep.json file')
    .argument('<dir>', "the tracker's log folder (TensorBoard's --logdir); created if missing")
    .addOption(new Option('--to <tracker>', 'the tracker format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .action(async (ref: string, dir: string, _opts: { to: (typeof EXPORT_FORMATS)[number] }) => {
      const [loaded] = await loadResults([ref]);
      const written = loaded.kind === 'run' ? [exportRun(dir, [], loaded.result)] : exportSweep(dir, loaded.result);
      log(
        `${written.length} TensorBoard event file${written.length === 1 ? '' : 's'} written under ${resolve(dir)}; \`tensorboard --logdir ${dir}\` shows them`,
      );
      process.stdout.write(`${written.join('\n')}\n`);
    });
}

/** `<dir>/<runId>/events.out.tfevents...`; events at the run's start plus its training time up to each task. */
function exportRun(dir: string, parents: string[], result: ExperimentResult): string {
  const started = Date.parse(result.startedAt) / 1000;
  let elapsed = 0;
  const times = result.training.map((t) => (elapsed += t.seconds));
  return writeEvents(
    dir,
    [...parents, result.runId],
    result,
    (step) => started + (times[step] ?? elapsed),
    Date.parse(result.finishedAt) / 1000,
  );
}

/**
 * `<dir>/<sweepId>/<cell runId>/events...` for each completed cell (the others have no numbers yet);
 * a cell's summary has no timings, so its events carry the sweep's finish time.
 */
function exportSweep(dir: string, sweep: SweepResult): string[] {
  const finished = Date.parse(sweep.finishedAt) / 1000;
  const written: string[] = [];
  for (const cell of sweep.cells) {
    const run = sweep.runs[cell.runId];
    if (run) written.push(writeEvents(dir, [sweep.sweepId, cell.runId], run, () => finished, finished));
  }
  const skipped = sweep.cells.length - written.length;
  if (skipped) log(`${skipped} of ${sweep.cells.length} cells of sweep ${sweep.sweepId} have no results (not completed); not exported`);
  return written;
}

function writeEvents(dir: string, names: string[], run: RunNumbers, wallTime: (step: number) => number, fileTime: number): string {
  // Run and sweep ids are safe folder names when Retain made them; a hand-edited file may say otherwise.
  for (const name of names) {
    const problem = runIdProblem(name);
    if (problem) throw new BadInputError(`cannot name a TensorBoard run folder after it: ${problem}`);
  }
  const folder = join(dir, ...names);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, eventFileName(fileTime));
  writeFileSync(file, eventFile(runScalars(run), wallTime));
  return file;
}
