import type { Command } from 'commander';
import { compareResults, formatComparison } from '../comparison';
import { loadResults } from '../results-args';

/** `retain compare <a> <b> [...]`: runs or sweeps side by side, deltas against the first, a within-noise verdict. */
export function addCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'runs or sweeps side by side: ACC, BWT, FWT, forgetting per model, quantization gap and QIF, deltas against the first, ' +
        "Welch's t-test over seeds (sweeps), and the spec fields that differ",
    )
    .argument('<a>', 'the baseline: a run or sweep id, or a results.json / sweep.json file')
    .argument('<b...>', 'one or more runs or sweeps to compare with it (ids or files)')
    .option('--json', 'print the comparison as one JSON object')
    .action(async (a: string, rest: string[], opts: { json?: boolean }) => {
      const comparison = compareResults(await loadResults([a, ...rest]));
      process.stdout.write(opts.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${formatComparison(comparison)}\n`);
    });
}
