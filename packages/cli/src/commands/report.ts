import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildMarkdownReport, buildReport } from '@retain/report';
import { withClient } from '../connection';
import { BadInputError, log } from '../output';
import { isResultsFile, loadResultsById, loadResultsFile, type LoadedResults } from '../results-source';
import { runIdProblem } from '../run-id';

const FORMATS = ['html', 'markdown'] as const;
type ReportFormat = (typeof FORMATS)[number];

/**
 * `retain report <run|sweep|results.json|sweep.json> --out report.html`: one self-contained HTML
 * report; `--format markdown` (or an --out ending in .md): the tables alone, for documents kept in a repository.
 */
export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "write a finished run's or sweep's report: one self-contained HTML file of plots and tables (opens offline), or its tables in Markdown",
    )
    .argument('<source>', 'a run or sweep id (on the Temporal server), or a results.json / sweep.json file')
    .requiredOption('--out <file>', 'the file to write (e.g. report.html, results.md)')
    .option(
      '--format <format>',
      'html (plots and tables) or markdown (tables only); default: markdown for an --out ending in .md, else html',
    )
    .action(async (source: string, opts: { out: string; format?: string }) => {
      const format = reportFormat(opts.format, opts.out);
      const loaded = await loadSource(source);
      const text =
        format === 'markdown' ? buildMarkdownReport(loaded, { command: commandLine(), machine: machine() }) : await buildReport(loaded);
      const out = resolve(opts.out);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, text);
      log(`${format} report of ${loaded.kind} ${loaded.id} written to ${out} (${(Buffer.byteLength(text) / 1000).toFixed(0)} KB)`);
    });
}

function reportFormat(format: string | undefined, out: string): ReportFormat {
  if (format === undefined) return /\.(md|markdown)$/i.test(out) ? 'markdown' : 'html';
  const known = FORMATS.find((f) => f === format);
  if (!known) throw new BadInputError(`--format: unknown '${format}'; choose html or markdown`);
  return known;
}

/** The command as typed (arguments quoted where the shell would need it), for the Markdown header. */
function commandLine(): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  return ['retain', ...process.argv.slice(2)].map(quote).join(' ');
}

/** This machine in one line: what wrote the report (the sweep ran on the workers polling its queues). */
function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
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
