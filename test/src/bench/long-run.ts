/**
 * `npm run bench:long-run [-- --tasks N[,N...] --policies P[,P...]]`: real runs of many tiny tasks
 * (default 1,000, evaluation policy `all`) on a dev server with Temporal's default limits and a
 * real worker process, written to .bench/long-run.json. It shows what the lowered-limits test in
 * test/src/experiment.test.ts argues for: history per execution and the state carried across
 * continue-as-new stay flat however many tasks a run has. Per run it reports the wall time, the
 * time per task early in the run (first tenth) and late (last tenth, before the last task, which
 * evaluates every task under every policy), the cells evaluated, the executions and their largest
 * history (events and bytes), the largest carried state, finishRun's time (it walks every task
 * record) and the size of results.json.
 *
 * Each task trains 2 steps on 32 images and evaluates 16 test images per task evaluated, with the
 * fp32 and an int8 model. Evaluating every task after every task (`all`) makes a task cost T
 * evaluations, so the time per task grows with T; `--policies all,seen-and-next,every:10,sample:8`
 * compares the spec's cheaper evaluation policies (`every:k` is `{ every: k }`, `sample:n` is
 * `{ sample: n }`), and two sizes (`--tasks 100,300`) show which ones keep the time per task flat.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { describeEvaluationTasks, evaluatedTasks, type EvaluationTasks } from '@retain/sdk';
import { defaultRegistry, experimentResultOf } from '@retain/worker';
import { experimentWorkflow } from '@retain/workflows';
import { startScratchServer } from '../scratch-server';
import { startTestWorker, type WorkerProcess } from '../fault/processes';
import { eventMillis, round, writeBenchReport } from './report';

const ms = eventMillis;

/** `all`, `seen-and-next`, `every:k`, `sample:n` as the spec's `evaluation.tasks`. */
function parsePolicy(text: string): EvaluationTasks {
  if (text === 'all' || text === 'seen-and-next') return text;
  const match = /^(every|sample):(\d+)$/.exec(text);
  if (!match) throw new Error(`--policies: expected all, seen-and-next, every:<k> or sample:<n>, got '${text}'`);
  return match[1] === 'every' ? { every: Number(match[2]) } : { sample: Number(match[2]) };
}

function parseTasks(text: string): number {
  const tasks = Number(text);
  if (!Number.isInteger(tasks) || tasks < 2) throw new Error(`--tasks: expected whole numbers of at least 2, got ${text}`);
  return tasks;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tasks: { type: 'string', default: '1000' }, policies: { type: 'string', default: 'all' } } });
  const sizes = values.tasks.split(',').map(parseTasks);
  const policies = values.policies.split(',').map(parsePolicy);
  const scratch = await startScratchServer('retain-bench-long-run');
  const connection = await Connection.connect({ address: scratch.server.address });
  const client = new Client({ connection });
  const artifacts = join(scratch.dir, 'artifacts');
  const queue = 'long-run';
  let worker: WorkerProcess | undefined;
  try {
    worker = startTestWorker(queue, artifacts, { address: scratch.server.address });
    await worker.ready;
    const runs = [];
    const loadAtStart = loadavg()[0];
    for (const tasks of sizes) for (const policy of policies) runs.push(await measure(client, artifacts, queue, tasks, policy));
    const out = { runs, loadAverageAtStart: round(loadAtStart), loadAverageAtEnd: round(loadavg()[0]), cores: cpus().length };
    process.stdout.write(`${JSON.stringify(out)}\nwritten to ${writeBenchReport('long-run', out)}\n`);
  } finally {
    worker?.child.kill('SIGKILL');
    await connection.close();
    await scratch.close();
  }
}

/** One run of `tasks` tiny tasks under `policy`, and what its histories and result say. */
async function measure(client: Client, artifacts: string, queue: string, tasks: number, policy: EvaluationTasks) {
  const spec = defaultRegistry().validateSpec({
    name: 'bench-long-run',
    seed: 0,
    benchmark: { name: 'permuted-fmnist', config: { tasks, trainPerTask: 32, testPerTask: 16 } },
    model: { name: 'mlp', config: { hidden: [4] } },
    trainer: { name: 'supervised', config: { steps: 2, batchSize: 16 } },
    quantizers: [{ name: 'rtn', config: { bits: 8 } }],
    execution: { taskQueue: queue },
    // The default policy stays out of the spec, as in a spec that does not name one.
    ...(policy === 'all' ? {} : { evaluation: { tasks: policy } }),
  });
  const label = describeEvaluationTasks(policy);
  const load = loadavg()[0];
  const workflowId = `long-run-${tasks}-${label.replace(' ', '-')}`;
  const started = Date.now();
  const handle = await client.workflow.start(experimentWorkflow, { taskQueue: queue, workflowId, args: [{ spec }] });
  const progress = setInterval(() => {
    void handle
      .query<{ task: number }>('progress')
      .then((p) => process.stderr.write(`${label}: task ${p.task}/${tasks}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`))
      .catch(() => undefined);
  }, 30_000);
  const output = await handle.result().finally(() => clearInterval(progress));
  const wall = (Date.now() - started) / 1000;

  const executions: Array<{ events: number; bytes: number }> = [];
  let carriedMax = 0;
  let finishRunSeconds = 0;
  let startRunDone = NaN;
  // Per task, when its finishTask completed and how long that activity took (evaluation is most of it).
  const finished: Array<{ at: number; seconds: number }> = [];
  for (const { info, events } of await executionsOf(client, workflowId)) {
    executions.push({ events: info.historyLength, bytes: info.historySize ?? NaN });
    const scheduled = new Map<number, { type: string; at: number }>();
    for (const e of events) {
      const carried = e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data?.length ?? 0;
      carriedMax = Math.max(carriedMax, carried);
      const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) scheduled.set(Number(e.eventId), { type, at: ms(e.eventTime) });
      const completed = e.activityTaskCompletedEventAttributes;
      const activity = completed && scheduled.get(Number(completed.scheduledEventId));
      if (!activity) continue;
      const at = ms(e.eventTime);
      if (activity.type === 'startRun') startRunDone = at;
      if (activity.type === 'finishTask') finished.push({ at, seconds: (at - activity.at) / 1000 });
      if (activity.type === 'finishRun') finishRunSeconds = (at - activity.at) / 1000;
    }
  }
  if (finished.length !== tasks) throw new Error(`${label}: found ${finished.length} finished tasks in the histories, expected ${tasks}`);
  // Tasks run one after another, so completion order is task order.
  finished.sort((a, b) => a.at - b.at);
  const perTask = finished.map((f, t) => (f.at - (t === 0 ? startRunDone : finished[t - 1].at)) / 1000);
  const tenth = Math.max(1, Math.floor(tasks / 10));
  const early = { from: 0, to: tenth };
  const late = { from: tasks - 1 - tenth, to: tasks - 1 };
  const window = (xs: number[], w: { from: number; to: number }) => mean(xs.slice(w.from, w.to));

  const result = await experimentResultOf(output, artifacts);
  const fp32 = result.matrices.fp32;
  if (fp32.length !== tasks || fp32.some((row) => row.length !== tasks))
    throw new Error(`${label}: expected ${tasks} x ${tasks} matrices, got ${fp32.length} rows`);
  const evaluatedCells = fp32.flat().filter((v) => v !== null).length;
  let expectedCells = 0;
  for (let t = 0; t < tasks; t++) expectedCells += evaluatedTasks(policy, t, tasks, spec.seed).length;
  if (evaluatedCells !== expectedCells) throw new Error(`${label}: ${evaluatedCells} cells evaluated, the policy names ${expectedCells}`);

  const report = {
    tasks,
    policy: label,
    wallSeconds: round(wall),
    secondsPerTask: round(wall / tasks, 3),
    // Mean seconds from one task's finishTask completing to the next one's, over the first tenth
    // of the tasks and over the last tenth before the last task.
    earlySecondsPerTask: round(window(perTask, early), 3),
    lateSecondsPerTask: round(window(perTask, late), 3),
    lateOverEarly: round(window(perTask, late) / window(perTask, early)),
    // finishTask alone (consolidation, quantization, evaluation), same windows.
    earlyFinishTaskSeconds: round(
      window(
        finished.map((f) => f.seconds),
        early,
      ),
      3,
    ),
    lateFinishTaskSeconds: round(
      window(
        finished.map((f) => f.seconds),
        late,
      ),
      3,
    ),
    lastTaskSeconds: round(perTask[tasks - 1], 3),
    evaluatedCells,
    executions: executions.length,
    maxEventsPerExecution: Math.max(...executions.map((e) => e.events)),
    maxHistoryBytesPerExecution: Math.max(...executions.map((e) => e.bytes)),
    maxCarriedBytes: carriedMax,
    finishRunSeconds: round(finishRunSeconds),
    // The result (matrices T x T per model, metrics, models, training stats) as JSON.
    resultBytes: Buffer.byteLength(JSON.stringify(result)),
    loadAverage: round(load),
  };
  process.stderr.write(`${JSON.stringify(report)}\n`);
  return report;
}

/**
 * Every execution of a workflow, from the last back to the first (each one's start names the one
 * it continues), with its history: unlike a visibility listing, this cannot lag behind a run that
 * just finished.
 */
async function executionsOf(client: Client, workflowId: string) {
  const executions = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const handle: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const info = await handle.describe();
    const events = (await handle.fetchHistory()).events ?? [];
    executions.push({ info, events });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return executions;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
