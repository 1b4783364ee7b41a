/**
 * `npm run bench:sweep`: what a sweep's orchestration costs, written to .bench/sweep.json.
 *
 * A 24-cell sweep (2 methods x 12 seeds) of tiny runs (2 tasks of 500 samples, an MLP of 16, RTN
 * int8), started with `retain sweep --detach` on a scratch dev server and run by 2 `retain worker`
 * processes (one activity slot each), `parallel: 2`, so each cell has a worker to itself. From the
 * histories of the sweep and its cells:
 *  - wall: the sweep's first event to its last (every execution), and cells per minute;
 *  - overhead per cell: (wall - sum of the cells' own durations / parallel) / cells: what the sweep
 *    adds to running its cells back to back on `parallel` lanes (planning batches, starting each
 *    child, noticing its end, aggregating at the end). Goal: at most 0.5 s;
 *  - start latency per cell: from the event that freed a slot (the sweep's start, or a cell's close
 *    as the sweep's history records it) to the next cell's ChildWorkflowExecutionStarted;
 *  - finishSweep: the aggregation activity's time;
 *  - the sweep's history: executions, events, bytes (the protobuf encoding the server stores).
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startScratchServer } from '../scratch-server';
import { retainCli, startWorker, type WorkerProcess } from '../fault/processes';
import { eventMillis as ms, round, writeBenchReport } from './report';

const CELLS = 24;
const PARALLEL = 2;
const WORKERS = 2;

const live: WorkerProcess[] = [];

async function main(): Promise<void> {
  const scratch = await startScratchServer('retain-bench-sweep');
  const home = join(scratch.dir, 'home');
  const queue = `bench-sweep-${process.pid}`;
  process.env.TEMPORAL_ADDRESS = scratch.server.address;
  process.env.TEMPORAL_NAMESPACE = scratch.server.namespace;
  const connection = await Connection.connect({ address: scratch.server.address });
  const client = new Client({ connection, namespace: scratch.server.namespace });
  try {
    // The first worker bundles the workflows into the shared cache; the second reuses it.
    for (let i = 0; i < WORKERS; i++) {
      const worker = startWorker(queue, home);
      live.push(worker);
      await worker.ready;
    }
    mkdirSync(scratch.dir, { recursive: true });
    const spec = join(scratch.dir, 'sweep.yaml');
    writeFileSync(
      spec,
      [
        'name: bench-sweep',
        'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 500, testPerTask: 200 } }',
        'model: { name: mlp, config: { hidden: [16] } }',
        'trainer: { name: supervised, config: { batchSize: 64 } }',
        'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
        `execution: { taskQueue: ${queue} }`,
        'sweep:',
        '  grid: { method: [naive, ewc] }',
        `  seeds: [${Array.from({ length: CELLS / 2 }, (_, i) => i).join(', ')}]`,
        `  parallel: ${PARALLEL}`,
        '',
      ].join('\n'),
    );
    const sweepId = `bench-sweep-${process.pid}`;
    const started = await retainCli(['sweep', spec, '--detach', '--id', sweepId], { RETAIN_HOME: home });
    if (started.code !== 0) throw new Error(`retain sweep failed (${started.code}):\n${started.stderr}`);
    const outcome = (await client.workflow.getHandle(sweepId).result()) as { completed: number; cells: number };
    if (outcome.completed !== CELLS) throw new Error(`only ${outcome.completed} of ${CELLS} cells completed`);

    // The sweep's executions, oldest first.
    const executions = [];
    for await (const e of client.workflow.list({ query: `WorkflowId = '${sweepId}'` })) executions.push(e);
    executions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    let events = 0;
    let bytes = 0;
    let first = Infinity;
    let last = 0;
    let finishSweep = 0;
    const latencies: number[] = [];
    for (const execution of executions) {
      const history = await client.workflow.getHandle(sweepId, execution.runId).fetchHistory();
      const list = history.events ?? [];
      events += list.length;
      bytes += temporal.api.history.v1.History.encode(history).finish().length;
      first = Math.min(first, ms(list[0]?.eventTime));
      last = Math.max(last, ms(list[list.length - 1]?.eventTime));
      let freedAt = ms(list[0]?.eventTime);
      const initiatedAfter = new Map<string, number>();
      const scheduled = new Map<string, { type: string; at: number }>();
      for (const e of list) {
        const at = ms(e.eventTime);
        if (e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes) freedAt = at;
        if (e.startChildWorkflowExecutionInitiatedEventAttributes) initiatedAfter.set(String(e.eventId), freedAt);
        const childStarted = e.childWorkflowExecutionStartedEventAttributes;
        if (childStarted) latencies.push(at - initiatedAfter.get(String(childStarted.initiatedEventId))!);
        const s = e.activityTaskScheduledEventAttributes;
        if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '', at });
        const done = e.activityTaskCompletedEventAttributes;
        const activity = done && scheduled.get(String(done.scheduledEventId));
        if (activity?.type === 'finishSweep') finishSweep += at - activity.at;
      }
    }
    // Each cell's own duration: its first execution's start to its last one's close.
    let cellSeconds = 0;
    for await (const cell of client.workflow.list({ query: `RetainSweep = '${sweepId}' AND WorkflowType = 'experimentWorkflow'` })) {
      cellSeconds += (cell.closeTime!.getTime() - cell.startTime.getTime()) / 1000;
    }
    const wall = (last - first) / 1000;
    const overhead = (wall - cellSeconds / PARALLEL) / CELLS;
    latencies.sort((a, b) => a - b);
    const report = {
      cells: CELLS,
      parallel: PARALLEL,
      workers: WORKERS,
      run: 'permuted-fmnist 2 tasks x 500 samples, mlp [16], supervised batch 64, rtn int8',
      wallSeconds: round(wall),
      cellsPerMinute: round((CELLS / wall) * 60, 1),
      meanCellSeconds: round(cellSeconds / CELLS),
      overheadPerCellSeconds: round(overhead, 3),
      overheadGoalSeconds: 0.5,
      startLatencyMs: {
        mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 1),
        p50: round(latencies[Math.floor(latencies.length / 2)], 1),
        max: round(latencies[latencies.length - 1], 1),
      },
      finishSweepSeconds: round(finishSweep / 1000, 3),
      history: { executions: executions.length, events, bytes, eventsPerCell: round(events / CELLS, 1) },
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'cpu', loadavg: loadavg().map((l) => round(l)) },
    };
    const path = writeBenchReport('sweep', report);
    console.log(JSON.stringify(report, null, 2));
    console.log(`written to ${path}`);
  } finally {
    for (const w of live) w.child.kill('SIGKILL');
    await connection.close();
    await scratch.close();
  }
}

main().catch((err) => {
  for (const w of live) w.child.kill('SIGKILL');
  console.error(err);
  process.exit(1);
});
