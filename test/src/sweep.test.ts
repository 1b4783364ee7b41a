import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { openArtifactStore } from '@retain/artifacts';
import type { ExperimentResult, SweepResult } from '@retain/sdk';
import { retainCli } from './cli-process';

const SDK = resolve(__dirname, '../../packages/sdk');

/**
 * A plugin file for `--plugins`: method `flaky` fails in its after-task hook on task 1 of a run
 * with seed `failSeed`, while the file `whileFileExists` exists (deleting it is "fixing the bug").
 */
const FLAKY_PLUGIN = `'use strict';
const { existsSync } = require('node:fs');
const { definePlugin, z } = require(${JSON.stringify(SDK)});
const flaky = definePlugin({
  kind: 'method',
  name: 'flaky',
  version: '0.0.1',
  description: 'Test only: fails after task 1 of the seed failSeed while whileFileExists exists.',
  configSchema: z.strictObject({ failSeed: z.number().int(), whileFileExists: z.string() }),
  afterTask: async ({ config, seed, taskIndex }) => {
    if (taskIndex === 1 && seed === config.failSeed && existsSync(config.whileFileExists)) throw new TypeError('flaky: the bug bites');
    return undefined;
  },
});
module.exports = { plugins: [flaky] };
`;

/**
 * `retain sweep` end to end through the built CLI on the shared test server: 2 variants x 2 seeds
 * of a tiny run, one cell of which fails; `retain resume <sweep>` reruns only that cell (resumed
 * after its last finished task) and keeps the other three; sweep.json and sweep.csv hold every
 * cell, and each group's mean is the mean of its runs' results.
 */
describe('retain sweep', () => {
  let dir: string;
  let env: Record<string, string>;
  let client: Client;
  let connection: Connection;
  const queue = `sweep-e2e-${process.pid}`;
  const writeSpec = (file: string, lines: string[]) => {
    const path = join(dir, file);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const base = (name: string) => [
    `name: ${name}`,
    'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 500, testPerTask: 200 } }',
    'model: { name: mlp, config: { hidden: [16] } }',
    'trainer: { name: supervised, config: { batchSize: 64 } }',
    'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
    `execution: { taskQueue: ${queue} }`,
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-sweep-'));
    env = { RETAIN_HOME: join(dir, 'state') };
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  });
  afterAll(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validate counts the cells; a bad cell is refused naming the cell and the field, exit 2, before any server', async () => {
    const good = writeSpec('good.yaml', [...base('sweep-good'), 'sweep: { grid: { method: [naive, ewc] }, seeds: [0, 1, 2] }']);
    const valid = await retainCli(['validate', good], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(valid.code).toBe(0);
    expect(valid.stderr).toMatch(/a sweep of 6 cells \(2 groups × 3 seeds\), every cell valid/);
    const bad = writeSpec('bad.yaml', [...base('sweep-bad'), 'sweep: { grid: { method: [naive, ewc], trainer.config.lr: [0.01, -1] } }']);
    const refused = await retainCli(['sweep', bad], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cell 1 \(method=naive trainer\.config\.lr=-1\): trainer\.config\.lr: /);
    expect(refused.stderr).toMatch(/cell 3 \(method=ewc trainer\.config\.lr=-1\): trainer\.config\.lr: /);
    expect(refused.stderr).not.toMatch(/cell [02] /);
  });

  it('a failed cell does not stop the others; resume reruns only it, after its last finished task; sweep.json/csv aggregate the runs', async () => {
    const plugin = join(dir, 'flaky-plugin.js');
    writeFileSync(plugin, FLAKY_PLUGIN);
    const bug = join(dir, 'bug');
    writeFileSync(bug, '');
    const spec = writeSpec('sweep.yaml', [
      ...base('sweep-e2e'),
      'sweep:',
      '  variants:',
      '    - { name: plain, method: naive }',
      `    - { name: flaky, method: { name: flaky, config: { failSeed: 1, whileFileExists: ${JSON.stringify(bug)} } } }`,
      '  seeds: [0, 1]',
      '  parallel: 2',
    ]);
    const sweepId = `sweep-e2e-${process.pid}`;
    const first = await retainCli(['sweep', spec, '--id', sweepId, '--plugins', plugin, '--out', join(dir, 'first')], env);
    expect(first.code).toBe(3);
    expect(first.stderr).toMatch(new RegExp(`cell 3 \\(flaky .*, seed 1\\) failed: ${sweepId}-c03: .*the bug bites`));
    expect(first.stderr).toMatch(/1 of 4 cells did not complete; `retain resume /);
    const failed = JSON.parse(readFileSync(join(dir, 'first', 'sweep.json'), 'utf8')) as SweepResult;
    expect(failed.cells.map((c) => c.status)).toEqual(['completed', 'completed', 'completed', 'failed']);

    // ls lists the sweep; show prints its cells.
    const ls = await retainCli(['ls', '--spec', 'sweep-e2e'], env);
    expect(ls.stdout).toMatch(new RegExp(`^${sweepId}\\s+sweep\\s+failed\\s+sweep-e2e`, 'm'));
    const show = await retainCli(['show', sweepId], env);
    expect(show.stdout).toMatch(new RegExp(`^sweep ${sweepId}: 4 cells \\(3 completed, 1 failed\\) in 2 groups`));
    expect(show.stdout).toMatch(new RegExp(`^3\\s+${sweepId}-c03\\s+flaky method=flaky\\S*\\s+1\\s+failed\\s+flaky: the bug bites`, 'm'));

    unlinkSync(bug); // the bug is fixed
    const resumedId = `${sweepId}-r`;
    const resumed = await retainCli(['resume', sweepId, '--id', resumedId, '--plugins', plugin, '--out', join(dir, 'resumed')], env);
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(resumed.stderr).toMatch(`sweep ${resumedId} reruns 1 of the 4 cells of ${sweepId}`);
    // One connection line: the look-up of what the id names is quiet.
    expect(resumed.stderr.match(/^Temporal: /gm)).toHaveLength(1);

    // Only the failed cell ran again, as a run that continued the failed one after task 0.
    const reran = [];
    for await (const w of client.workflow.list({ query: `RetainSweep = '${resumedId}' AND WorkflowType = 'experimentWorkflow'` }))
      reran.push(w.workflowId);
    expect(reran).toEqual([`${resumedId}-c03`]);
    const result = JSON.parse(readFileSync(join(dir, 'resumed', 'sweep.json'), 'utf8')) as SweepResult;
    expect(result.cells.map((c) => [c.runId, c.status, c.seed, c.group.split(' ')[0]])).toEqual([
      [`${sweepId}-c00`, 'completed', 0, 'plain'],
      [`${sweepId}-c01`, 'completed', 1, 'plain'],
      [`${sweepId}-c02`, 'completed', 0, 'flaky'],
      [`${resumedId}-c03`, 'completed', 1, 'flaky'],
    ]);
    const store = openArtifactStore(join(dir, 'state', 'artifacts'));
    const runs = await Promise.all(result.cells.map((c) => store.getJson<ExperimentResult>(c.resultRef!)));
    expect(runs[3].resumedFrom).toEqual({ runId: `${sweepId}-c03`, task: 1 });
    // Completed cells kept their results: the same artifacts as in the first sweep.
    expect(result.cells.slice(0, 3).map((c) => c.resultRef)).toEqual(failed.cells.slice(0, 3).map((c) => c.resultRef));

    // Each group's mean ± std is over its seeds' runs, as their results.json say.
    for (const [g, members] of [
      [0, [0, 1]],
      [1, [2, 3]],
    ] as const) {
      const group = result.groups[g];
      expect(group.runIds).toEqual(members.map((i) => result.cells[i].runId));
      for (const model of ['fp32', 'rtn-int8']) {
        const accs = members.map((i) => runs[i].metrics[model].acc!);
        expect(group.metrics[model].acc.mean).toBeCloseTo((accs[0] + accs[1]) / 2, 12);
        expect(group.metrics[model].acc.std).toBeCloseTo(Math.abs(accs[0] - accs[1]) / Math.SQRT2, 12);
      }
      expect(result.runs[result.cells[members[1]].runId].matrices).toEqual(runs[members[1]].matrices);
    }

    const csv = readFileSync(join(dir, 'resumed', 'sweep.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe(
      'index,run_id,group,method,seed,status,error,fp32.acc,fp32.bwt,fp32.fwt,fp32.forgetting,rtn-int8.acc,rtn-int8.bwt,rtn-int8.fwt,rtn-int8.forgetting',
    );
    expect(csv).toHaveLength(5);
    const row3 = csv[4].split(',');
    expect(row3.slice(0, 2)).toEqual(['3', `${resumedId}-c03`]);
    expect(row3).toContain('completed');
    expect(Number(row3[row3.length - 4])).toBe(runs[3].metrics['rtn-int8'].acc);
    expect(existsSync(join(dir, 'resumed', 'sweep.json'))).toBe(true);
  });
});
