import type { Command } from 'commander';
import { compareGroups, compareResults, formatComparison } from '../comparison';
import { Option } from 'commander';
import { BadInputError } from '../output';
import { loadResults } from '../results-args';

/** `retain compare <a> <b> [...]`: runs or sweeps side by side, deltas against the first, a within-noise verdict. */
export function addCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'runs or sweeps side by side: ACC, BWT, FWT, forgetting per model, quantization gap and QIF, deltas against the first, ' +
        "Welch's t-test over seeds (sweeps; paired over seeds for --groups), and the spec fields that differ",
    )
    .argument('<a>', 'the baseline: a run or sweep id, or a results.json / sweep.json file')
    .argument('[b...]', 'one or more runs or sweeps to compare with it (ids or files)')
    .option('--groups <names...>', 'compare these groups of sweep <a> instead (variant names; the first is the baseline)')
    .addOption(
      new Option('--test <test>', "--groups' verdict: paired over the seeds (default when the groups ran the same seeds) or welch").choices(
        ['paired', 'welch'],
      ),
    )
    .option('--json', 'print the comparison as one JSON object')
    .action(async (a: string, rest: string[], opts: { json?: boolean; groups?: string[]; test?: 'paired' | 'welch' }) => {
      if (opts.test && !opts.groups)
        throw new BadInputError('--test chooses the verdict of --groups; runs and separate sweeps are always compared by Welch');
      if (opts.groups && rest.length > 0)
        throw new BadInputError('--groups compares groups of one sweep: give only that sweep, not other runs or sweeps');
      if (!opts.groups && rest.length === 0)
        throw new BadInputError('compare needs a second run or sweep to set beside the first, or --groups <names...> of one sweep');
      const comparison = opts.groups
        ? compareGroups((await loadResults([a]))[0], opts.groups, opts.test)
        : compareResults(await loadResults([a, ...rest]));
      process.stdout.write(opts.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${formatComparison(comparison)}\n`);
    });
}
