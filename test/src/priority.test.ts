import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRetainWorker } from '@retain/worker';
import { retainCli } from './cli-process';
import { quietRuntime, workflowBundle } from './harness';

const EventType = temporal.api.enums.v1.EventType;
const PendingActivityState = temporal.api.enums.v1.PendingActivityState;

/**
 * Priority on a shared queue, on the embedded dev server (the test run's, started as Retain starts
 * it: one partition per queue): three long runs (priority 5) wait for a busy worker, an urgent run
 * (priority 1) comes last, and the free slot goes to the urgent run's task first.
 */
describe('execution.priority on a shared task queue', () => {
  let dir: string;
  let connection: Connection;
  let native: NativeConnection;
  let client: Client;
  const queue = `priority-${process.pid}`;
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';

  beforeAll(async () => {
    quietRuntime();
    dir = mkdtempSync(join(tmpdir(), 'retain-priority-'));
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    native = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace });
  });
  afterAll(async () => {
    await native?.close();
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `retain run --detach` of a one-task spec on the shared queue; returns the run id. */
  async function startRun(name: string, priority?: number): Promise<string> {
    const spec = join(dir, `${name}.yaml`);
    writeFileSync(
      spec,
      [
        `name: ${name}`,
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 200, testPerTask: 100 } }',
        'model: { name: mlp, config: { hidden: [16] } }',
        'trainer: supervised',
        `execution: { taskQueue: ${queue}${priority === undefined ? '' : `, priority: ${priority}`} }`,
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await retainCli(['run', spec, '--detach'], { RETAIN_HOME: join(dir, 'state') });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    return stdout.trim();
  }

  /** Waits until the run's workflow has scheduled its first activity (startRun), which then waits for a worker. */
  async function scheduled(handle: WorkflowHandle): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if ((await handle.describe()).raw.pendingActivities?.length) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`run ${handle.workflowId} scheduled no activity within 30 s`);
  }

  it("the urgent run's waiting task is taken before the long runs' tasks queued before it", async () => {
    // Phase 1: a worker that runs workflows only, so every startRun waits on the queue, in this order.
    const workflowsOnly = await Worker.create({ connection: native, namespace, taskQueue: queue, workflowBundle: await workflowBundle() });
    const ids: string[] = [];
    await workflowsOnly.runUntil(async () => {
      for (const name of ['long-a', 'long-b', 'long-c']) {
        ids.push(await startRun(name, 5));
        await scheduled(client.workflow.getHandle(ids[ids.length - 1]));
      }
      ids.push(await startRun('urgent', 1));
      await scheduled(client.workflow.getHandle(ids[3]));
    });
    const urgent = await client.workflow.getHandle(ids[3]).describe();
    // The CLI started the workflow with the spec's priority, and the workflow passed it to its activity.
    expect(urgent.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(1);
    expect(urgent.raw.pendingActivities?.[0]?.priority?.priorityKey).toBe(1);
    expect((await client.workflow.getHandle(ids[0]).describe()).raw.pendingActivities?.[0]?.priority?.priorityKey).toBe(5);

    // Phase 2: one Retain worker with one activity slot takes the waiting tasks one at a time.
    const worker = await createRetainWorker({
      connection: native,
      namespace,
      taskQueue: queue,
      maxConcurrentActivities: 1,
      artifactsDir: join(dir, 'artifacts'),
      workflowBundle: await workflowBundle(),
    });
    const startedAt = new Map<string, number>();
    try {
      await worker.runUntil(async () => {
        // Until every run's startRun has started: the moment each was taken from the queue.
        for (let i = 0; i < 600 && startedAt.size < ids.length; i++) {
          for (const id of ids) {
            if (startedAt.has(id)) continue;
            const started = await startRunStarted(client.workflow.getHandle(id));
            if (started !== undefined) startedAt.set(id, started);
          }
          await new Promise((done) => setTimeout(done, 100));
        }
      });
    } finally {
      await Promise.all(
        ids.map((id) =>
          client.workflow
            .getHandle(id)
            .terminate('priority test done')
            .catch(() => undefined),
        ),
      );
    }
    expect(startedAt.size).toBe(ids.length);
    const order = [...startedAt.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    expect(order[0]).toBe(ids[3]);
  });
});

/** When the run's startRun was taken by a worker (ms since the epoch), from its history or, while it runs, its pending state. */
async function startRunStarted(handle: WorkflowHandle): Promise<number | undefined> {
  const description = await handle.describe();
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'startRun');
  if (pending?.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED && pending.lastStartedTime?.seconds != null) {
    return Number(pending.lastStartedTime.seconds) * 1000 + Math.floor((pending.lastStartedTime.nanos ?? 0) / 1e6);
  }
  if (pending) return undefined; // still waiting for a worker
  const history = await handle.fetchHistory();
  const event = history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  if (!event?.eventTime?.seconds) return undefined;
  return Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
}
