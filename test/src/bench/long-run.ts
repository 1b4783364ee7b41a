/**
 * `npm run bench:long-run [-- --tasks N]`: a real run of many tiny tasks (default 1,000) on a dev
 * server with Temporal's default limits and a real worker process, written to .bench/long-run.json.
 * It shows what the lowered-limits test in test/src/experiment.test.ts argues for: history per
 * execution and the state carried across continue-as-new stay flat however many tasks a run has.
 * It reports the run's wall time, its executions and their largest history (events and bytes), the
 * largest carried state, finishRun's time (it walks every task record) and the size of results.json.
 * Each task trains 2 steps on 32 images; evaluating every task after every task makes the work grow
 * as T^2, so 1,000 tasks take many minutes.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultRegistry, experimentResultOf } from '@retain/worker';
import { experimentWorkflow } from '@retain/workflows';
import { startScratchServer } from '../scratch-server';
import { startTestWorker, type WorkerProcess } from '../fault/processes';
import { eventMillis, round, writeBenchReport } from './report';

const ms = eventMillis;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tasks: { type: 'string', default: '1000' } } });
  const tasks = Number(values.tasks);
  if (!Number.isInteger(tasks) || tasks < 2) throw new Error(`--tasks: expected a whole number of at least 2, got ${values.tasks}`);
  const scratch = await startScratchServer('retain-bench-long-run');
  const connection = await Connection.connect({ address: scratch.server.address });
  const client = new Client({ connection });
  const artifacts = join(scratch.dir, 'artifacts');
  let worker: WorkerProcess | undefined;
  try {
    const queue = 'long-run';
    worker = startTestWorker(queue, artifacts, { address: scratch.server.address });
    await worker.ready;
    const spec = defaultRegistry().validateSpec({
      name: 'bench-long-run',
      seed: 0,
      benchmark: { name: 'permuted-fmnist', config: { tasks, trainPerTask: 32, testPerTask: 16 } },
      model: { name: 'mlp', config: { hidden: [4] } },
      trainer: { name: 'supervised', config: { steps: 2, batchSize: 16 } },
      quantizers: [{ name: 'rtn', config: { bits: 8 } }],
      execution: { taskQueue: queue },
    });
    const load = loadavg()[0];
    const workflowId = 'long-run';
    const started = Date.now();
    const handle = await client.workflow.start(experimentWorkflow, { taskQueue: queue, workflowId, args: [{ spec }] });
    const progress = setInterval(() => {
      void handle
        .query<{ task: number }>('progress')
        .then((p) => process.stderr.write(`task ${p.task}/${tasks}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`))
        .catch(() => undefined);
    }, 30_000);
    const output = await handle.result().finally(() => clearInterval(progress));
    const wall = (Date.now() - started) / 1000;

    const executions: Array<{ events: number; bytes: number }> = [];
    let carriedMax = 0;
    let finishRunSeconds = 0;
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      executions.push({ events: run.historyLength, bytes: run.historySize ?? NaN });
      const events = (await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? [];
      for (const e of events) {
        const carried = e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data?.length ?? 0;
        carriedMax = Math.max(carriedMax, carried);
      }
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'finishRun');
      const completed = events.find(
        (e) => scheduled && Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
      );
      if (scheduled && completed) finishRunSeconds = (ms(completed.eventTime) - ms(scheduled.eventTime)) / 1000;
    }
    const result = await experimentResultOf(output, artifacts);
    if (result.matrices.fp32.length !== tasks || result.matrices.fp32.at(-1)?.length !== tasks)
      throw new Error(`expected ${tasks} x ${tasks} matrices, got ${result.matrices.fp32.length} rows`);
    const resultBytes = Buffer.byteLength(JSON.stringify(result));

    const out = {
      tasks,
      wallSeconds: round(wall),
      secondsPerTask: round(wall / tasks, 3),
      executions: executions.length,
      maxEventsPerExecution: Math.max(...executions.map((e) => e.events)),
      maxHistoryBytesPerExecution: Math.max(...executions.map((e) => e.bytes)),
      maxCarriedBytes: carriedMax,
      finishRunSeconds: round(finishRunSeconds),
      // The result (matrices T x T per model, metrics, models, training stats) as JSON.
      resultBytes,
      loadAverage: round(load),
      cores: cpus().length,
    };
    process.stdout.write(`${JSON.stringify(out)}\nwritten to ${writeBenchReport('long-run', out)}\n`);
  } finally {
    worker?.child.kill('SIGKILL');
    await connection.close();
    await scratch.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
