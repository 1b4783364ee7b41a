import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { resolveTemporalCli } from '@retain/infra';
import type {
  ExperimentSpec,
  FinishSweepInput,
  RetainActivities,
  SweepActivities,
  SweepCellStart,
  SweepInput,
  SweepProgress,
} from '@retain/sdk';
import {
  methodKey,
  quantizersKey,
  specNameKey,
  statusKey,
  sweepKey,
  sweepProgressQuery,
  sweepSearchAttributes,
  sweepWorkflow,
} from './index';

/**
 * The sweep's orchestration on a real dev server: real child experimentWorkflows whose activities
 * are stand-ins (a task is a short sleep; seed 3's run fails at once), and stand-in sweep activities
 * over an in-memory plan. Real activities are exercised end to end in test/src/sweep.test.ts.
 */

const specOf = (queue: string, seed: number) =>
  ({
    name: 'sweep-orchestration',
    seed,
    benchmark: { name: 'stand-in', config: {} },
    model: { name: 'stand-in', config: {} },
    trainer: { name: 'stand-in', config: {} },
    method: { name: 'naive', config: {} },
    quantizers: [],
    evaluators: [{ name: 'accuracy', config: {} }],
    execution: { taskQueue: queue },
  }) satisfies ExperimentSpec;

/** Stand-in run activities: two tasks, each `trainMs` of (cancellable) training; a spec with seed 3 fails in startRun. */
function runActivities(trainMs: number, active: { now: number; max: number }): RetainActivities {
  return {
    startRun: async ({ spec }) => {
      if (spec.seed === 3) throw ApplicationFailure.nonRetryable('seed 3 is cursed', 'PluginError');
      active.now++;
      active.max = Math.max(active.max, active.now);
      return { info: { taskNames: ['t0', 't1'], heads: 1, classesPerHead: 2 }, checkpointRef: 'init', initialRef: 'initial' };
    },
    trainTask: async ({ taskIndex }) => {
      const until = Date.now() + trainMs;
      while (Date.now() < until) {
        Context.current().heartbeat({ taskIndex });
        await Context.current().sleep(50);
      }
      return { checkpointRef: `ckpt-${taskIndex}`, steps: 1, samples: 1, seconds: 0, finalLoss: 0, samplesPerSec: 1 };
    },
    finishTask: async ({ taskIndex, trained }) => ({
      models: { checkpointRef: trained.checkpointRef, quantized: {} },
      recordRef: `record-${taskIndex}`,
    }),
    finishRun: async ({ state }) => {
      active.now--;
      return { runId: state.runId, resultRef: `result-of-${state.runId}`, tasks: 2, startedAt: state.startedAt, finishedAt: '' };
    },
  };
}

/** Stand-in sweep activities over one in-memory plan of `cells` cells with seeds 0..cells-1. */
function sweepActivities(
  queue: string,
  sweepId: string,
  cells: number,
  finished: FinishSweepInput[],
  fetched: number[][],
): SweepActivities {
  return {
    sweepCells: async ({ indices }) => {
      fetched.push(indices);
      return indices.map((index): SweepCellStart => ({ index, runId: `${sweepId}-c${index}`, input: { spec: specOf(queue, index) } }));
    },
    finishSweep: async (input) => {
      finished.push(input);
      const completed = Object.values(input.ended).filter((e) => e.status === 'completed').length;
      return { sweepId, resultRef: 'sweep-result', cells, completed, failed: cells - completed };
    },
  };
}

describe('sweepWorkflow orchestration', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundle;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const cli = await resolveTemporalCli({ install: true });
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli.path },
        searchAttributes: [specNameKey, methodKey, quantizersKey, statusKey, sweepKey],
      },
    });
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./index'), logger: new DefaultLogger('WARN') });
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  const input = (sweepId: string, queue: string, cells: number, parallel: number, continueAsNewAfterEvents = 10_000): SweepInput => ({
    sweepId,
    planRef: 'plan',
    cells,
    parallel,
    activityQueue: queue,
    continueAsNewAfterEvents,
  });

  it('runs at most `parallel` cells at once, goes on past a failed cell, and continues as new with its ended cells', async () => {
    const queue = 'sweep-bound';
    const sweepId = 'sweep-bound';
    const active = { now: 0, max: 0 };
    const finished: FinishSweepInput[] = [];
    const fetched: number[][] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: bundle,
      activities: { ...runActivities(300, active), ...sweepActivities(queue, sweepId, 7, finished, fetched) },
    });
    const handle = await env.client.workflow.start(sweepWorkflow, {
      taskQueue: queue,
      workflowId: sweepId,
      // A budget of 40 events: the sweep drains and continues as new after a few cells.
      args: [input(sweepId, queue, 7, 2, 40)],
      typedSearchAttributes: sweepSearchAttributes({ name: 'sweep-orchestration' }, sweepId),
    });
    const outcome = await worker.runUntil(handle.result());

    expect(outcome).toEqual({ sweepId, resultRef: 'sweep-result', cells: 7, completed: 6, failed: 1 });
    expect(active.max).toBe(2);
    const [{ ended }] = finished;
    expect(Object.keys(ended).map(Number).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(ended[3]).toEqual({ status: 'failed', error: 'seed 3 is cursed' });
    for (const i of [0, 1, 2, 4, 5, 6]) expect(ended[i]).toEqual({ status: 'completed', resultRef: `result-of-${sweepId}-c${i}` });
    // Every cell was fetched; a later execution fetches again only cells that had not started (its first fetched all 7).
    expect([...new Set(fetched.flat())].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(fetched[0]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(fetched.length).toBeGreaterThan(1);
    expect(Math.min(...fetched.slice(1).flat())).toBeGreaterThan(1);

    const executions = [];
    for await (const e of env.client.workflow.list({ query: `WorkflowId = '${sweepId}'` })) executions.push(e);
    expect(executions.length).toBeGreaterThan(1);
    expect(executions.filter((e) => e.status.name === 'CONTINUED_AS_NEW')).toHaveLength(executions.length - 1);
    // One cell failed: the sweep says so, and its cells carry the run attributes and its id.
    expect(executions.find((e) => e.status.name === 'COMPLETED')?.typedSearchAttributes.get(statusKey)).toBe('failed');
    const cells = [];
    for await (const e of env.client.workflow.list({ query: `${sweepKey.name} = '${sweepId}' AND WorkflowType = 'experimentWorkflow'` }))
      cells.push(e);
    expect(cells.map((c) => c.workflowId).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `${sweepId}-c${i}`));
    expect(cells.find((c) => c.workflowId === `${sweepId}-c3`)?.status.name).toBe('FAILED');
  });

  it('cancelling the sweep cancels its running cells and starts no more', async () => {
    const queue = 'sweep-cancel';
    const sweepId = 'sweep-cancel';
    const active = { now: 0, max: 0 };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: bundle,
      activities: { ...runActivities(60_000, active), ...sweepActivities(queue, sweepId, 5, [], []) },
    });
    const handle = await env.client.workflow.start(sweepWorkflow, {
      taskQueue: queue,
      workflowId: sweepId,
      args: [input(sweepId, queue, 5, 2)],
    });
    await worker.runUntil(async () => {
      let progress: SweepProgress | undefined;
      for (let i = 0; i < 200 && progress?.running !== 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        progress = await handle.query(sweepProgressQuery);
      }
      expect(progress).toMatchObject({ cells: 5, running: 2, pending: 3, completed: 0 });
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
    });
    const statuses = await Promise.all(
      [0, 1].map(async (i) => (await env.client.workflow.getHandle(`${sweepId}-c${i}`).describe()).status.name),
    );
    expect(statuses).toEqual(['CANCELLED', 'CANCELLED']);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await expect(env.client.workflow.getHandle(`${sweepId}-c2`).describe()).rejects.toThrow(/not found/i);
  });
});
