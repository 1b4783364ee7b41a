import { summarize, summarizeLoss, type AccuracyMatrix } from '@retain/metrics';
import type { EvaluationTasks, ExperimentResult } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { formatResult } from './report';

/** A 3-task result as finishRun stores it, under a policy that skipped R[0][2]. */
function resultOf(tasks?: EvaluationTasks): ExperimentResult {
  const spec = defaultRegistry().validateSpec({
    name: 'report-test',
    benchmark: { name: 'permuted-fmnist', config: { tasks: 3 } },
    model: 'mlp',
    trainer: 'supervised',
    ...(tasks ? { evaluation: { tasks } } : {}),
  });
  const fp32: AccuracyMatrix = [
    [0.9, 0.2, tasks ? null : 0.1],
    [0.95, 0.8, 0.3],
    [0.6, 0.5, 0.9],
  ];
  const initial = [0.1, 0.1, 0.2];
  const training = { steps: 1, samples: 10, seconds: 1, finalLoss: 1, samplesPerSec: 10 };
  return {
    runId: 'r',
    spec,
    tasks: ['a', 'b', 'c'],
    initial,
    matrices: { fp32 },
    metrics: { fp32: summarize(fp32, initial) },
    quantizationGap: {},
    quantization: {},
    // A probe evaluator's counts (not accuracies), and a task resumed without it.
    evaluations: { fp32: { 'probe.samples': [[300, 300, null], null, [300, 300, 300]] } },
    training: [training, training, training],
    models: [],
    startedAt: '',
    finishedAt: '',
  };
}

describe('the printed result', () => {
  it('names a sparse policy and its evaluated cells, and prints the cells skipped as ·', () => {
    const lines = formatResult(resultOf('seen-and-next')).split('\n');
    expect(lines[0]).toBe('Evaluation: seen-and-next (8 of 9 cells; · = not evaluated)');
    expect(lines.slice(2, 6)).toEqual([
      'Accuracy, fp32',
      '                   a       b       c',
      'after task 0  0.9000  0.2000       ·',
      'after task 1  0.9500  0.8000  0.3000',
    ]);
    const probe = lines.indexOf('probe.samples, fp32');
    expect(lines.slice(probe + 2, probe + 4)).toEqual([
      'after task 0  300.0000  300.0000         ·',
      'after task 1         ·         ·         ·',
    ]);
  });

  it("prints the perplexity evaluator's matrices as lower-is-better and the loss metrics table after the accuracy metrics", () => {
    const L = [
      [2, 5, 5],
      [2.5, 1.5, 4],
      [3, 2, 1],
    ];
    const result: ExperimentResult = {
      ...resultOf(),
      evaluations: { fp32: { 'perplexity.loss': L, 'perplexity.perplexity': L.map((r) => r.map(Math.exp)) } },
      lossMetrics: { fp32: summarizeLoss(L) },
    };
    const lines = formatResult(result).split('\n');
    const perplexity = lines.indexOf('perplexity.perplexity (lower is better), fp32');
    expect(lines[perplexity + 4]).toBe('after task 2  20.0855    7.3891    2.7183');
    expect(lines).toContain('perplexity.loss (lower is better), fp32');
    const loss = lines.indexOf(
      'Loss metrics (perplexity evaluator: nats, lower is better; BWT and forgetting > 0 = forgot, FWT < 0 = earlier tasks helped)',
    );
    expect(loss).toBeGreaterThan(lines.findIndex((l) => l.startsWith('model ') && l.includes('ACC')));
    expect(lines.slice(loss + 1, loss + 3)).toEqual([
      'model    loss  perplexity  BWT (loss)  FWT (loss)  Forgetting (loss)',
      'fp32   2.0000       7.389     +0.7500         n/a            +0.7500',
    ]);
  });

  it('prints a full-matrix run as before: no evaluation line', () => {
    expect(formatResult(resultOf()).split('\n')[0]).toBe('Accuracy, fp32');
    expect(formatResult(resultOf('all')).split('\n')[0]).toBe('Accuracy, fp32');
  });
});
