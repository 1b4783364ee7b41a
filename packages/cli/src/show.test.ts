import { statOverSeeds } from '@retain/metrics';
import type { ExperimentSpec, SweepResult } from '@retain/sdk';
import { formatListing, listingJson, type RunListing } from './control';
import { formatSweep, formatTraining } from './show';

describe('retain show: a sweep', () => {
  const stat = (...v: Array<number | null>) => statOverSeeds(v);
  const sweep = {
    sweepId: 'grid-1',
    spec: { name: 'grid', seed: 1, sweep: { grid: { method: ['naive', 'ewc'] } } } as unknown as ExperimentSpec & { sweep: unknown },
    cells: [
      { index: 0, runId: 'grid-1-c0', overrides: { method: 'naive' }, seed: 1, group: 'method=naive', status: 'completed' as const },
      { index: 1, runId: 'grid-1-c1', overrides: { method: 'naive' }, seed: 2, group: 'method=naive', status: 'completed' as const },
      {
        index: 2,
        runId: 'grid-1-c2',
        overrides: { method: 'ewc' },
        seed: 1,
        group: 'method=ewc',
        status: 'failed' as const,
        error: 'worker lost',
      },
    ],
    groups: [
      {
        group: 'method=naive',
        overrides: { method: 'naive' },
        runIds: ['grid-1-c0', 'grid-1-c1'],
        seeds: [1, 2],
        metrics: { fp32: { acc: stat(0.8, 0.82), bwt: stat(-0.1, -0.12), fwt: stat(null, null), forgetting: stat(0.1, 0.12) } },
        quantization: {},
      },
    ],
    runs: {},
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
  } as SweepResult;

  it('prints the cells with their status, each group mean ± std, and the spec', () => {
    const text = formatSweep(sweep);
    expect(text).toMatch(/^sweep grid-1: 3 cells \(2 completed, 1 failed\) in 1 groups/);
    expect(text).toMatch(/cell\s+run\s+group\s+seed\s+status\s+error\n0\s+grid-1-c0\s+method=naive\s+1\s+completed\n/);
    expect(text).toMatch(/2\s+grid-1-c2\s+method=ewc\s+1\s+failed\s+worker lost/);
    expect(text).toMatch(
      /Group method=naive \(2 seeds: 1, 2\)\nmodel\s+ACC\s+BWT\s+FWT\s+Forgetting\nfp32\s+0\.8100 ± 0\.0141\s+-0\.1100 ± 0\.0141\s+n\/a\s+0\.1100 ± 0\.0141/,
    );
    expect(text).toMatch(/Spec\nname: grid\n/);
  });

  it("prints a group's loss metrics (perplexity evaluator) after its accuracy metrics, only when it has them", () => {
    expect(formatSweep(sweep)).not.toMatch(/Loss/);
    const lossMetrics = {
      fp32: {
        loss: stat(2, 2.2),
        perplexity: stat(Math.exp(2), Math.exp(2.2)),
        bwt: stat(0.3, 0.5),
        fwt: stat(null, null),
        forgetting: stat(0.4, null),
      },
    };
    const text = formatSweep({ ...sweep, groups: [{ ...sweep.groups[0], lossMetrics }] });
    expect(text).toMatch(
      /Forgetting\nfp32 .*\nLoss \(perplexity evaluator: nats, lower is better\)\nmodel\s+loss\s+perplexity\s+BWT \(loss\)\s+FWT \(loss\)\s+Forgetting \(loss\)\nfp32\s+2\.1000 ± 0\.1414\s+8\.2\d+ ± 1\.\d+\s+\+0\.4000 ± 0\.1414\s+n\/a\s+\+0\.4000\n/,
    );
  });

  it('training per task: a resumed column only when a task resumed', () => {
    const t = { steps: 8, samples: 500, seconds: 0.25, finalLoss: 1.5, samplesPerSec: 2000 };
    expect(formatTraining([t])).not.toMatch(/resumed/);
    expect(formatTraining([t, { ...t, resumedAt: 4 }])).toMatch(/resumed at\n0 .*\n1\s+8\s+500\s+0\.3\s+1\.5000\s+2000\s+4$/);
  });
});

describe('retain ls: metric columns', () => {
  const base = {
    kind: 'run' as const,
    status: 'completed',
    spec: 's',
    method: 'naive',
    quantizers: ['rtn-int8'],
    startTime: new Date('2026-01-01T00:00:00Z'),
  };
  const runs: RunListing[] = [
    { ...base, runId: 'r1', metrics: { 'rtn-int8': { acc: 0.7, bwt: -0.2 }, fp32: { acc: 0.75, bwt: null } } },
    { ...base, runId: 'r2', status: 'running' },
  ];

  it('ACC and BWT per model, fp32 first; blank for a run without results', () => {
    const lines = formatListing(runs).split('\n');
    expect(lines[0]).toMatch(
      /^run\s+kind\s+status\s+spec\s+method\s+quantizers\s+started\s+ACC fp32\s+BWT fp32\s+ACC rtn-int8\s+BWT rtn-int8$/,
    );
    expect(lines[1]).toMatch(/^r1\s+run\s+completed\s+.*\s+0\.7500\s+n\/a\s+0\.7000\s+-0\.2000$/);
    expect(lines[2]).toMatch(/^r2\s+run\s+running\s+s\s+naive\s+rtn-int8\s+2026-01-01T00:00:00\.000Z$/);
    expect(listingJson(runs)).toEqual([
      { ...base, runId: 'r1', startTime: '2026-01-01T00:00:00.000Z', metrics: runs[0].metrics },
      { ...base, runId: 'r2', status: 'running', startTime: '2026-01-01T00:00:00.000Z', metrics: null },
    ]);
  });
});
