import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatMatrix, formatMetricsTable, formatQuantizationTable } from '@retain/metrics';
import type { ExperimentResult } from '@retain/sdk';

/** The printed summary of a finished run: every accuracy matrix, the other evaluators' matrices, then the metrics tables. */
export function formatResult(result: ExperimentResult): string {
  const names = result.tasks;
  const sections = Object.entries(result.matrices).map(([variant, matrix]) => formatMatrix(`Accuracy, ${variant}`, matrix, names));
  for (const [variant, results] of Object.entries(result.evaluations ?? {})) {
    for (const [name, rows] of Object.entries(results)) {
      // A task that did not run this evaluator (a resumed run) prints as NaN.
      const matrix = rows.map((row) => row ?? names.map(() => Number.NaN));
      sections.push(formatMatrix(`${name}, ${variant}`, matrix, names));
    }
  }
  const training = result.training;
  const samples = training.reduce((a, t) => a + t.samples, 0);
  const seconds = training.reduce((a, t) => a + t.seconds, 0);
  sections.push(formatMetricsTable(result.metrics));
  if (Object.keys(result.quantization ?? {}).length) sections.push(formatQuantizationTable(result.quantization));
  sections.push(`Training: ${samples} samples in ${seconds.toFixed(1)} s (${Math.round(samples / Math.max(seconds, 1e-9))} samples/s)`);
  return sections.join('\n\n');
}

/** results.json: the spec, task names, matrices, metrics and run id, plus what produced them. */
export function writeResult(path: string, result: ExperimentResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
