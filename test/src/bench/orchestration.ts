/**
 * `npm run bench:orchestration`: what durability costs, written to .bench/orchestration.json.
 *  - 10-task runs on a real dev server and a real worker process, at the example spec's sizes and
 *    at under a second of work per task: wall time from the run's start to its close, time inside
 *    activities (started -> completed, from the histories of every execution), the orchestration
 *    share (1 - activity / wall) and the orchestration seconds per task;
 *  - crash to resume: a worker is killed with SIGKILL while training (default settings: 4 s
 *    heartbeat timeout, a heartbeat a second, 0.2 s retry backoff, checkpoints every 5 s); a new
 *    worker is started at once; the time until the retried attempt reports a training step again.
 *    Workers reuse the cached workflow bundle (the first worker builds it), as `retain worker` does.
 */
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { ExperimentSpec, TrainHeartbeat } from '@retain/sdk';
import { loadSpecFile } from '@retain/cli';
import { defaultRegistry } from '@retain/worker';
import { experimentWorkflow } from '@retain/workflows';
import { startScratchServer } from '../scratch-server';
import { kill9, startTestWorker, trainingCheckpointed, waitForActivity, type WorkerProcess } from '../fault/processes';
import { eventMillis, round, writeBenchReport } from './report';

const TASKS = 10;

/** Worker processes to kill whatever happens. */
const live: WorkerProcess[] = [];

function spec(queue: string, over: Record<string, unknown>): ExperimentSpec {
  return defaultRegistry().validateSpec({
    name: 'bench-orchestration',
    seed: 0,
    benchmark: { name: 'permuted-fmnist', config: { tasks: TASKS, trainPerTask: 10000, testPerTask: 1000 } },
    model: { name: 'mlp', config: { hidden: [128] } },
    trainer: { name: 'supervised', config: { epochs: 1, batchSize: 64, lr: 0.01 } },
    quantizers: [{ name: 'rtn', config: { bits: 8 } }],
    execution: { taskQueue: queue },
    ...over,
  });
}

const ms = eventMillis;

/**
 * Seconds from the first execution's start to the last one's close, seconds inside activities, and
 * where the rest goes: activities waiting for a worker (scheduled to started), the workflow deciding
 * (an activity's completion, or an execution's start, to the next activity's scheduling), and the
 * hand-over between continued-as-new executions (one's close to the next one's start).
 */
async function timings(
  client: Client,
  workflowId: string,
): Promise<Timings & { workflowTasks: number; activities: number; executions: number }> {
  const t: Timings = { wall: 0, activity: 0, queued: 0, deciding: 0, workflowTaskQueued: 0, workflowTaskRunning: 0, continuing: 0 };
  const counts = { workflowTasks: 0, activities: 0, executions: 0 };
  const executions: Array<{ start: number; end: number }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    const scheduled = new Map<string, number>();
    const started = new Map<string, number>();
    const events = history.events ?? [];
    let ready = ms(events[0]?.eventTime);
    executions.push({ start: ready, end: ms(events[events.length - 1]?.eventTime) });
    for (const e of events) {
      const at = ms(e.eventTime);
      // Of the deciding: a workflow task waiting for the worker, and the worker running it.
      if (e.workflowTaskStartedEventAttributes)
        t.workflowTaskQueued += at - ms(events[Number(e.workflowTaskStartedEventAttributes.scheduledEventId) - 1]?.eventTime);
      if (e.workflowTaskCompletedEventAttributes) counts.workflowTasks++;
      if (e.workflowTaskCompletedEventAttributes)
        t.workflowTaskRunning += at - ms(events[Number(e.workflowTaskCompletedEventAttributes.startedEventId) - 1]?.eventTime);
      if (e.activityTaskScheduledEventAttributes) {
        scheduled.set(String(e.eventId), at);
        if (!Number.isNaN(ready)) t.deciding += at - ready;
        ready = NaN; // several activities scheduled by one decision count once
      }
      if (e.activityTaskStartedEventAttributes) {
        const id = String(e.activityTaskStartedEventAttributes.scheduledEventId);
        started.set(id, at);
        t.queued += at - scheduled.get(id)!;
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (done) counts.activities++;
      if (done) {
        t.activity += at - started.get(String(done.scheduledEventId))!;
        ready = at;
      }
    }
  }
  counts.executions = executions.length;
  executions.sort((a, b) => a.start - b.start);
  for (let i = 1; i < executions.length; i++) t.continuing += executions[i].start - executions[i - 1].end;
  t.wall = executions[executions.length - 1].end - executions[0].start;
  for (const k of Object.keys(t) as Array<keyof Timings>) t[k] /= 1000;
  return { ...t, ...counts };
}

/** examples/permuted-fmnist-ewc.yaml with TASKS tasks, as overrides of spec(). */
function exampleOverrides(): Record<string, unknown> {
  const example = loadSpecFile(resolve(__dirname, '../../../examples/permuted-fmnist-ewc.yaml'), defaultRegistry());
  const { name: _name, execution: _execution, ...rest } = example;
  return { ...rest, benchmark: { ...example.benchmark, config: { ...example.benchmark.config, tasks: TASKS } } };
}

/** The fields and where the orchestration time goes (seconds), plus the round trips it took. */
function breakdown(t: Awaited<ReturnType<typeof timings>>) {
  return {
    wallSeconds: round(t.wall),
    activitySeconds: round(t.activity),
    orchestrationShare: round(1 - t.activity / t.wall, 4),
    // What orchestration costs each task, whatever its size: the share is this over a task's time.
    orchestrationSecondsPerTask: round((t.wall - t.activity) / TASKS, 3),
    queuedSeconds: round(t.queued),
    decidingSeconds: round(t.deciding),
    workflowTaskQueuedSeconds: round(t.workflowTaskQueued),
    workflowTaskRunningSeconds: round(t.workflowTaskRunning),
    continueAsNewSeconds: round(t.continuing),
    workflowTasks: t.workflowTasks,
    activities: t.activities,
    executions: t.executions,
  };
}

interface Timings {
  wall: number;
  activity: number;
  queued: number;
  deciding: number;
  workflowTaskQueued: number;
  workflowTaskRunning: number;
  continuing: number;
}

/**
 * Seconds from a SIGKILL during training to training running again on a new worker, and of that,
 * to the retried attempt's start on the new worker (the rest is the new worker's warm-up: dataset,
 * checkpoint, ONNX session, first step).
 */
async function crashToResume(
  client: Client,
  queue: string,
  artifacts: string,
  address: string,
): Promise<{ resumed: number; retryStarted: number }> {
  const w = startTestWorker(queue, artifacts, { address });
  live.push(w);
  await w.ready;
  const handle: WorkflowHandle = await client.workflow.start(experimentWorkflow, {
    taskQueue: queue,
    workflowId: `${queue}-crash`,
    args: [
      {
        spec: spec(queue, {
          benchmark: { name: 'permuted-fmnist', config: { tasks: 1, trainPerTask: 10000, testPerTask: 500 } },
          trainer: { name: 'supervised', config: { epochs: 300, batchSize: 64, lr: 0.01 } },
        }),
      },
    ],
  });
  // Default cadence: the first checkpoint comes after 5 s of training.
  await waitForActivity(handle, trainingCheckpointed(0, 1), 'a first checkpoint', 180_000);
  const crashed = Date.now();
  await kill9(w);
  const next = startTestWorker(queue, artifacts, { address });
  live.push(next);
  await waitForActivity(
    handle,
    (a) => {
      const d = a.details as TrainHeartbeat | undefined;
      return a.type === 'trainTask' && a.attempt >= 2 && d?.resumedAt !== undefined && d.step !== undefined && d.step > d.resumedAt;
    },
    'training to run again',
    180_000,
  );
  const resumed = (Date.now() - crashed) / 1000;
  const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'trainTask');
  const retryStarted = (ms(pending?.lastStartedTime) - crashed) / 1000;
  // The rest of the run (300 epochs, far more than the measurement needs) is not measured: stop it.
  await handle.cancel();
  await handle.result().catch(() => undefined);
  next.child.kill('SIGKILL');
  return { resumed, retryStarted };
}

async function main(): Promise<void> {
  const scratch = await startScratchServer('retain-bench-orchestration');
  const { server, dir } = scratch;
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const queue = 'bench';
    const w = startTestWorker(queue, join(dir, 'artifacts'), { address: server.address });
    live.push(w);
    await w.ready;
    const load = loadavg()[0];
    const run = async (id: string, over: Record<string, unknown>) => {
      await client.workflow.execute(experimentWorkflow, { taskQueue: queue, workflowId: id, args: [{ spec: spec(queue, over) }] });
      return breakdown(await timings(client, id));
    };
    // The headline run: 10 tasks at the sizes of examples/permuted-fmnist-ewc.yaml (all 60,000
    // training and 10,000 test images per task, MLP 784-256-256-10, EWC, int8 and int4), the job a
    // research run is made of. Then the same 10 tasks shrunk to under a second of work each, where
    // the fixed cost of Temporal's round trips per task shows. BENCH_SMALL_ONLY=1 skips the first.
    const example = process.env.BENCH_SMALL_ONLY ? undefined : await run('bench-10-example', exampleOverrides());
    const small = await run('bench-10-small', {});
    w.child.kill('SIGKILL');
    await w.exited;
    const crash = await crashToResume(client, 'bench-crash', join(dir, 'artifacts'), server.address);
    const out = {
      tasks: TASKS,
      ...(example ?? small),
      // 10,000 samples a task, MLP 784-128-10, int8: about 0.8 s of activities per task.
      ...(example ? { smallTasks: small } : {}),
      crashToResumeSeconds: round(crash.resumed),
      // Of it, until the retried attempt started on the new worker (heartbeat timeout, retry backoff).
      crashToRetryStartSeconds: round(crash.retryStarted),
      // 1-minute load average when the run started, on cpus().length cores: the numbers above scale with it.
      loadAverage: round(load),
      cores: cpus().length,
    };
    process.stdout.write(`${JSON.stringify(out)}\nwritten to ${writeBenchReport('orchestration', out)}\n`);
  } finally {
    for (const w of live) w.child.kill('SIGKILL');
    await connection.close();
    await scratch.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
