import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { ExperimentResult, ExperimentSpec, TrainHeartbeat } from '@retain/sdk';
import { experimentWorkflow, runSearchAttributes } from '@retain/workflows';
import { createHarness, smallPermutedSpec, type Harness } from './harness';
import { kill9, startWorker, trainingCheckpointed, waitForActivity, waitForPhase, type WorkerProcess } from './fault/processes';

/**
 * Fault tests: real `retain worker` processes killed with SIGKILL in the middle of a run, on the
 * shared real dev server. The run must finish on a new worker with matrices equal, bit for bit,
 * to an uninterrupted run of the same spec (run here by an in-process harness worker).
 */

/**
 * 2 tasks, 3000 steps of batch 32 each (seconds of training: heartbeats go out every 2 s, so a
 * test sees a checkpoint only in a task that lasts several seconds), a checkpoint every 250 steps.
 */
function faultSpec(): ExperimentSpec {
  return smallPermutedSpec({
    name: 'fault',
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 2000, testPerTask: 500 } },
    model: { name: 'mlp', config: { hidden: [64] } },
    trainer: { name: 'supervised', config: { steps: 3000, batchSize: 32, lr: 0.01, checkpointEvery: 250 } },
  });
}

describe('durability under real worker crashes', () => {
  let harness: Harness;
  let client: Client;
  let connection: Connection;
  let home: string;
  let baseline: ExperimentResult;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    harness = await createHarness('fault-baseline');
    baseline = await harness.run(faultSpec());
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    home = mkdtempSync(join(tmpdir(), 'retain-fault-'));
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await harness?.close();
    await connection?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const worker = (queue: string) => {
    const w = startWorker(queue, home);
    workers.push(w);
    return w;
  };

  const start = (queue: string, runId: string) => {
    const spec = { ...faultSpec(), execution: { taskQueue: queue } };
    return client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: runId,
      args: [{ spec }],
      typedSearchAttributes: runSearchAttributes(spec),
    });
  };

  it('kill -9 during training: a new worker resumes the task from its last checkpoint, with the same matrices', async () => {
    const queue = `fault-train-${process.pid}`;
    const first = worker(queue);
    await first.ready;
    const handle = await start(queue, `${queue}-run`);
    // Kill once task 1's heartbeat holds a checkpoint at step 500 or later (of 3000).
    const seen = await waitForActivity(handle, trainingCheckpointed(1, 500), 'a checkpoint of task 1 at step >= 500');
    const checkpointed = (seen.details as TrainHeartbeat).checkpoint!.step;
    await kill9(first);
    const second = worker(queue);
    const result = await handle.result();
    second.child.kill('SIGINT');
    // The retried attempt started at the last heartbeat's checkpoint (or a later one the killed
    // worker saved just before dying), not at step 0.
    expect(result.training[1].resumedAt).toBeGreaterThanOrEqual(checkpointed);
    expect(result.training[0].resumedAt).toBeUndefined();
    expect(result.matrices).toEqual(baseline.matrices);
    expect(result.initial).toEqual(baseline.initial);
    expect(result.models.map((m) => m.checkpointRef)).toEqual(baseline.models.map((m) => m.checkpointRef));
  });

  it('kill -9 at several points of one run (training, quantize, evaluate): same matrices', async () => {
    const queue = `fault-many-${process.pid}`;
    let current = worker(queue);
    await current.ready;
    const handle = await start(queue, `${queue}-run`);
    const killAt: Array<() => Promise<unknown>> = [
      () => waitForActivity(handle, trainingCheckpointed(0, 500), 'a checkpoint of task 0 at step >= 500'),
      () => waitForPhase(handle, 0, 'quantizing'),
      () => waitForPhase(handle, 1, 'evaluating'),
    ];
    for (const reached of killAt) {
      await reached();
      await kill9(current);
      current = worker(queue);
    }
    const result = await handle.result();
    current.child.kill('SIGINT');
    expect(result.training[0].resumedAt).toBeGreaterThanOrEqual(500);
    expect(result.matrices).toEqual(baseline.matrices);
    expect(result.models.map((m) => m.checkpointRef)).toEqual(baseline.models.map((m) => m.checkpointRef));
  });
});
