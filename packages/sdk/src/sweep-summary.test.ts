import type { CLMetrics, QuantizationMetrics } from '@retain/metrics';
import type { SweepCellOutcome, SweepRunSummary } from './sweep-result';
import type { ExperimentResult } from './run';
import { summarizeGroups, sweepRunSummary } from './sweep-summary';

function cell(index: number, group: string, seed: number, status: SweepCellOutcome['status'] = 'completed'): SweepCellOutcome {
  return { index, runId: `s-c${index}`, overrides: { method: group }, seed, group: `method=${group}`, status };
}

function run(runId: string, acc: number, bwt: number | null, gap?: number): SweepRunSummary {
  const metrics: Record<string, CLMetrics> = { fp32: { acc, bwt, fwt: null, forgetting: null } };
  const quantization: Record<string, QuantizationMetrics> = {};
  if (gap !== undefined) {
    metrics['rtn-int8'] = { acc: acc - gap, bwt, fwt: null, forgetting: null };
    quantization['rtn-int8'] = { accGap: gap, meanGap: gap, quantizationInducedForgetting: null, bucketCrossingRate: [null], bytes: [1] };
  }
  return { runId, tasks: ['t0'], matrices: { fp32: [[acc]] }, metrics, quantization };
}

describe('summarizeGroups', () => {
  it('takes mean and std over the seeds of each group, in the order groups first appear', () => {
    const cells = [cell(0, 'ewc', 0), cell(1, 'ewc', 1), cell(2, 'naive', 0), cell(3, 'naive', 1)];
    const runs = {
      's-c0': run('s-c0', 0.7, -0.1, 0.02),
      's-c1': run('s-c1', 0.9, -0.3, 0.04),
      's-c2': run('s-c2', 0.5, null),
      's-c3': run('s-c3', 0.6, -0.2),
    };
    const [ewc, naive] = summarizeGroups(cells, runs);
    expect(ewc.group).toBe('method=ewc');
    expect(ewc.runIds).toEqual(['s-c0', 's-c1']);
    expect(ewc.metrics.fp32.acc.mean).toBeCloseTo(0.8, 12);
    expect(ewc.metrics.fp32.acc.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(ewc.quantization['rtn-int8'].accGap.mean).toBeCloseTo(0.03, 12);
    expect(naive.metrics.fp32.bwt).toMatchObject({ mean: -0.2, n: 1, values: [null, -0.2] });
    expect(naive.quantization).toEqual({});
  });

  it('counts only completed cells, sorted by seed', () => {
    const cells = [cell(1, 'ewc', 2), cell(0, 'ewc', 1), cell(2, 'ewc', 0, 'failed')];
    const runs = { 's-c0': run('s-c0', 0.6, null), 's-c1': run('s-c1', 0.8, null) };
    const [ewc] = summarizeGroups(cells, runs);
    expect(ewc.seeds).toEqual([1, 2]);
    expect(ewc.metrics.fp32.acc.values).toEqual([0.6, 0.8]);
  });

  it("aggregates the runs' loss metrics per model when they have them, and adds nothing when none does", () => {
    const withLoss = (runId: string, loss: number, bwt: number): SweepRunSummary => ({
      ...run(runId, 0.5, null),
      lossMatrices: { fp32: [[loss]] },
      lossMetrics: { fp32: { loss, perplexity: Math.exp(loss), bwt, fwt: null, forgetting: bwt } },
    });
    const cells = [cell(0, 'ewc', 0), cell(1, 'ewc', 1), cell(2, 'naive', 0)];
    const [ewc, naive] = summarizeGroups(cells, {
      's-c0': withLoss('s-c0', 2, 0.1),
      's-c1': withLoss('s-c1', 3, 0.3),
      's-c2': run('s-c2', 0.5, null),
    });
    expect(ewc.lossMetrics?.fp32.loss).toMatchObject({ mean: 2.5, n: 2 });
    expect(ewc.lossMetrics?.fp32.bwt.mean).toBeCloseTo(0.2, 12);
    expect(ewc.lossMetrics?.fp32.perplexity.mean).toBeCloseTo((Math.exp(2) + Math.exp(3)) / 2, 12);
    expect(naive).not.toHaveProperty('lossMetrics');
  });
});

describe('sweepRunSummary', () => {
  const base = {
    runId: 'r',
    tasks: ['a', 'b'],
    matrices: {
      fp32: [
        [1, 0],
        [0.5, 1],
      ],
    },
    metrics: { fp32: { acc: 0.75, bwt: -0.5, fwt: 0, forgetting: 0.5 } },
    quantization: {},
  };

  it('carries the loss matrices and loss metrics of a run that has them', () => {
    const L = [
      [1.5, 4],
      [2, 1.2],
    ];
    const lossMetrics = { fp32: { loss: 1.6, perplexity: Math.exp(1.6), bwt: 0.5, fwt: -2, forgetting: 0.5 } };
    const result = { ...base, evaluations: { fp32: { 'perplexity.loss': L } }, lossMetrics } as unknown as ExperimentResult;
    expect(sweepRunSummary(result)).toEqual({ ...base, lossMatrices: { fp32: L }, lossMetrics });
  });

  it('is what it was for a run without them (sweep.json unchanged)', () => {
    expect(sweepRunSummary({ ...base, evaluations: { fp32: { 'x.y': [[1, 1], null] } } } as unknown as ExperimentResult)).toEqual(base);
  });
});
