import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatLossMetricsTable, formatMatrix, formatMetricsTable, formatQuantizationTable, NOT_EVALUATED } from '@retain/metrics';
import { describeEvaluationTasks, evaluationTasksOf, type ExperimentResult } from '@retain/sdk';

/** The perplexity evaluator's results, where a lower value is the better one (the matrix titles say so). */
const LOWER_IS_BETTER = new Set(['perplexity.loss', 'perplexity.perplexity']);

/**
 * The printed summary of a finished run: which cells were evaluated when the spec's evaluation
 * policy is not `all`, every accuracy matrix, the other evaluators' matrices, then the metrics tables
 * (the loss metrics when the run has the perplexity evaluator's).
 */
export function formatResult(result: ExperimentResult): string {
  const names = result.tasks;
  const evaluated = evaluationLine(result);
  const sections = [
    ...(evaluated ? [evaluated] : []),
    ...Object.entries(result.matrices).map(([variant, matrix]) => formatMatrix(`Accuracy, ${variant}`, matrix, names)),
  ];
  for (const [variant, results] of Object.entries(result.evaluations ?? {})) {
    for (const [name, rows] of Object.entries(results)) {
      // A task that did not run this evaluator (a resumed run) prints as a row of cells not evaluated.
      const matrix = rows.map((row) => row ?? names.map(() => null));
      sections.push(formatMatrix(`${name}${LOWER_IS_BETTER.has(name) ? ' (lower is better)' : ''}, ${variant}`, matrix, names));
    }
  }
  const training = result.training;
  const samples = training.reduce((a, t) => a + t.samples, 0);
  const newSamples = training.reduce((a, t) => a + (t.newSamples ?? t.samples), 0);
  const seconds = training.reduce((a, t) => a + t.seconds, 0);
  sections.push(formatMetricsTable(result.metrics));
  if (result.lossMetrics)
    sections.push(
      `Loss metrics (perplexity evaluator: nats, lower is better; BWT and forgetting > 0 = forgot, FWT < 0 = earlier tasks helped)\n${formatLossMetricsTable(result.lossMetrics)}`,
    );
  if (Object.keys(result.quantization ?? {}).length) sections.push(formatQuantizationTable(result.quantization));
  const rate = (n: number) => Math.round(n / Math.max(seconds, 1e-9));
  // With replay the steps see more samples than the tasks hold: both, so rates compare across methods.
  sections.push(
    newSamples === samples
      ? `Training: ${samples} samples in ${seconds.toFixed(1)} s (${rate(samples)} samples/s)`
      : `Training: ${newSamples} new samples (${samples} with the method's replayed ones) in ${seconds.toFixed(1)} s (${rate(newSamples)} new samples/s, ${rate(samples)} in all)`,
  );
  return sections.join('\n\n');
}

/** `Evaluation: sample 8 (2,990 of 90,000 cells; · = not evaluated)`; none for the full matrix. */
function evaluationLine(result: ExperimentResult): string | undefined {
  const policy = evaluationTasksOf(result.spec);
  if (policy === 'all') return undefined;
  const cells = result.matrices.fp32 ?? Object.values(result.matrices)[0] ?? [];
  const evaluated = cells.flat().filter((v) => v !== null).length;
  const count = (n: number) => n.toLocaleString('en-US');
  return `Evaluation: ${describeEvaluationTasks(policy)} (${count(evaluated)} of ${count(cells.length ** 2)} cells; ${NOT_EVALUATED} = not evaluated)`;
}

/** results.json: the spec, task names, matrices, metrics and run id, plus what produced them. */
export function writeResult(path: string, result: ExperimentResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
