// @retain/report: a finished run's or sweep's results in, one self-contained HTML report out.
import type { ExperimentResult, SweepResult } from '@retain/sdk';
import { buildRunReport } from './run-report';
import { runMarkdown, sweepMarkdown, type MarkdownContext } from './markdown';
import { buildSweepReport } from './sweep-report';

export { buildRunReport } from './run-report';
export { buildSweepReport, SWEEP_METRIC_PLOTS, SWEEP_QUANTIZATION_PLOTS } from './sweep-report';
export { MARKS, MAX_PLOTTED_TASKS, MAX_ANNOTATED_TASKS, seedMeanMatrix } from './charts';
export { escapeHtml } from './html';
export { markdownTable, runMarkdown, sweepMarkdown, type MarkdownContext } from './markdown';

/** What a report is made of: a run's results.json or a sweep's sweep.json. */
export type ReportInput = { kind: 'run'; result: ExperimentResult } | { kind: 'sweep'; result: SweepResult };

/** The HTML report of a run or a sweep. */
export function buildReport(input: ReportInput): Promise<string> {
  return input.kind === 'sweep' ? buildSweepReport(input.result) : buildRunReport(input.result);
}

/** The Markdown report of a run or a sweep: its tables only, for documents kept in a repository. */
export function buildMarkdownReport(input: ReportInput, context: MarkdownContext = {}): string {
  return input.kind === 'sweep' ? sweepMarkdown(input.result, context) : runMarkdown(input.result, context);
}
