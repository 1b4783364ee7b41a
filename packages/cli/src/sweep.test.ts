import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { openArtifactStore } from '@retain/artifacts';
import { SpecErrors, type SweepPlan, type SweepResult } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { planOf, planSweep, prepareSweep } from './sweep';
import { formatGroups, sweepCsv } from './sweep-output';
import { formatSweepProgress } from './sweep-progress';

const SPEC = `
name: unit-sweep
benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 100, testPerTask: 100 } }
model: mlp
trainer: supervised
execution: { taskQueue: wf, queues: { train: gpu, finish: cpu } }
sweep:
  variants: [{ name: a, method: naive }, { name: b, method: { name: ewc, config: { lambda: 2 } } }]
  seeds: [0, 1]
  parallel: 3
`;

describe('a sweep from the CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-sweep-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the workflow start from the plan: type, id, the base spec's queues, parallel, the default history budget, attributes", async () => {
    const plan = planOf('s1', planSweep(parse(SPEC), defaultRegistry(), 's1'));
    const store = openArtifactStore(join(dir, 'artifacts'), {});
    const start = await prepareSweep(store, plan);
    expect(start).toMatchObject({ workflowType: 'sweepWorkflow', workflowId: 's1', taskQueue: 'wf' });
    expect(start.args[0]).toMatchObject({
      sweepId: 's1',
      cells: 4,
      parallel: 3,
      activityQueue: 'cpu',
      continueAsNewAfterEvents: 2000,
      ended: {},
    });
    expect(start.typedSearchAttributes.map((a) => [a.key.name, a.value])).toEqual([
      ['RetainSpec', 'unit-sweep'],
      ['RetainSweep', 's1'],
      ['RetainStatus', 'running'],
    ]);
    // The plan is stored as written, field order kept: a cell's input is what `retain run` would send.
    const stored = await store.getJson<SweepPlan>(start.args[0].planRef);
    expect(JSON.stringify(stored)).toBe(JSON.stringify(plan));
    expect(Object.keys(stored.cells[0].input.spec).slice(0, 3)).toEqual(['name', 'seed', 'benchmark']);
    expect(stored.cells.map((c) => [c.runId, c.group, c.seed])).toEqual([
      ['s1-c00', 'a method=naive', 0],
      ['s1-c01', 'a method=naive', 1],
      ['s1-c02', 'b method=ewc(lambda=2)', 0],
      ['s1-c03', 'b method=ewc(lambda=2)', 1],
    ]);
  });

  it('refuses a sweep id whose cells would not be safe run ids', () => {
    expect(() => planSweep(parse(SPEC), defaultRegistry(), 'x'.repeat(198))).toThrow(SpecErrors);
    expect(() => planSweep(parse(SPEC), defaultRegistry(), 'x'.repeat(198))).toThrow(/makes cell run ids like 'x+-c03'/);
  });

  it("measures ETA over this sweep's own cells (a resumed sweep's carried cells took no time here)", () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const progress = {
      sweepId: 's',
      cells: 10,
      completed: 6,
      failed: 1,
      cancelled: 0,
      running: 2,
      pending: 1,
      runningIds: [],
      startedAt: '2026-01-01T00:00:00Z',
      endedAtStart: 4,
      paused: false,
      phase: 'running' as const,
    };
    // 3 of this sweep's 6 cells in 60 s: 60 s to go.
    expect(formatSweepProgress(progress, now)).toBe('cells 7/10 · 2 running · 1 failed · 1 pending · elapsed 1m00s · ETA 1m00s');
  });

  it('writes one CSV row per cell, quoting structured overrides, metrics per model', () => {
    const result = {
      cells: [
        {
          index: 0,
          runId: 's-c0',
          group: 'q',
          overrides: { quantizers: [{ name: 'rtn', config: { bits: 4 } }] },
          seed: 0,
          status: 'completed',
        },
        { index: 1, runId: 's-c1', group: 'q', overrides: { quantizers: [] }, seed: 1, status: 'failed', error: 'boom, "twice"' },
      ],
      runs: { 's-c0': { metrics: { fp32: { acc: 0.5, bwt: null, fwt: 0.1, forgetting: 0 } } } },
    } as unknown as SweepResult;
    expect(sweepCsv(result).split('\n')).toEqual([
      'index,run_id,group,quantizers,seed,status,error,fp32.acc,fp32.bwt,fp32.fwt,fp32.forgetting',
      '0,s-c0,q,"[{""name"":""rtn"",""config"":{""bits"":4}}]",0,completed,,0.5,,0.1,0',
      '1,s-c1,q,[],1,failed,"boom, ""twice""",,,,',
      '',
    ]);
  });

  it("prints the groups' loss metrics in a second table, only when a group has them", () => {
    const stat = (mean: number) => ({ mean, std: null, n: 1, values: [mean] });
    const group = {
      group: 'method=naive',
      overrides: {},
      runIds: ['s-c0'],
      seeds: [0],
      metrics: { fp32: { acc: stat(0.5), bwt: stat(-0.1), fwt: stat(0), forgetting: stat(0.1) } },
      quantization: {},
    };
    const cells = [{ index: 0, runId: 's-c0', group: 'method=naive', overrides: {}, seed: 0, status: 'completed' as const }];
    expect(formatGroups({ cells, groups: [group] })).not.toMatch(/Loss/);
    const lossMetrics = { fp32: { loss: stat(2), perplexity: stat(7.389), bwt: stat(0.25), fwt: stat(-1.5), forgetting: stat(0.5) } };
    expect(
      formatGroups({ cells, groups: [{ ...group, lossMetrics }] })
        .split('\n')
        .slice(-3),
    ).toEqual([
      'Loss (perplexity evaluator: nats, lower is better)',
      'group         model  seeds   loss  perplexity  BWT (loss)  FWT (loss)  forgetting (loss)',
      'method=naive  fp32     1/1  2.000       7.389       0.250      -1.500              0.500',
    ]);
  });

  it("adds the loss metrics' columns when runs have the perplexity evaluator's", () => {
    const result = {
      cells: [{ index: 0, runId: 's-c0', group: '', overrides: {}, seed: 0, status: 'completed' }],
      runs: {
        's-c0': {
          metrics: { fp32: { acc: 0.5, bwt: null, fwt: null, forgetting: null } },
          lossMetrics: { fp32: { loss: 2, perplexity: 7.5, bwt: 0.25, fwt: -1, forgetting: 0.5 } },
        },
      },
    } as unknown as SweepResult;
    expect(sweepCsv(result).split('\n').slice(0, 2)).toEqual([
      'index,run_id,group,seed,status,error,fp32.acc,fp32.bwt,fp32.fwt,fp32.forgetting,fp32.loss,fp32.perplexity,fp32.loss_bwt,fp32.loss_fwt,fp32.loss_forgetting',
      '0,s-c0,,0,completed,,0.5,,,,2,7.5,0.25,-1,0.5',
    ]);
  });
});
