import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '@retain/report';
import { withClient } from '../connection';
import { BadInputError, log } from '../output';
import { isResultsFile, loadResultsById, loadResultsFile, type LoadedResults } from '../results-source';
import { runIdProblem } from '../run-id';

/** `retain report <run|sweep|results.json|sweep.json> --out report.html`: one self-contained HTML report. */
export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description("write a finished run's or sweep's report: one self-contained HTML file of plots and tables (opens offline)")
    .argument('<source>', 'a run or sweep id (on the Temporal server), or a results.json / sweep.json file')
    .requiredOption('--out <file>', 'the HTML file to write (e.g. report.html)')
    .action(async (source: string, opts: { out: string }) => {
      const loaded = await loadSource(source);
      const html = await buildReport(loaded);
      const out = resolve(opts.out);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, html);
      log(`report of ${loaded.kind} ${loaded.id} written to ${out} (${(Buffer.byteLength(html) / 1000).toFixed(0)} KB)`);
    });
}

/** A results file when `source` names one; a run or sweep on the server otherwise. */
async function loadSource(source: string): Promise<LoadedResults> {
  if (isResultsFile(source)) return loadResultsFile(source);
  // Something that looks like a path but is not a file: say so rather than asking the server for a run of that name.
  if (source.endsWith('.json') || source.includes('/'))
    throw new BadInputError(`${source}: no such file (give a results.json or sweep.json file, or a run or sweep id)`);
  const problem = runIdProblem(source);
  if (problem) throw new BadInputError(problem);
  return withClient((client) => loadResultsById(client, source));
}
