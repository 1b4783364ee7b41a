import { defaultPayloadConverter, type Client, type WorkflowHandle } from '@temporalio/client';
import { type Payload, tsToDate } from '@temporalio/common';
import {
  FP32,
  SpecError,
  SpecErrors,
  type ExperimentInput,
  type ExperimentSpec,
  type ExperimentState,
  type FinishedTask,
  type FinishTaskInput,
  type StartRunOutput,
  type TrainHeartbeat,
  type TrainResumePoint,
  type TrainTaskInput,
  type TrainTaskOutput,
} from '@retain/sdk';
import { methodKey, quantizersKey, specNameKey, statusKey, sweepProgressQuery, type RunStatus } from '@retain/workflows';
import { formatProgress, snapshot } from './progress';
import { resultOrRunFailure } from './run-failure';
import { noWorkerMessage, runQueues, unservedQueues } from './worker-check';
import { SWEEP_WORKFLOW_TYPE } from './results-source';
import { formatSweepProgress } from './sweep-progress';
import { formatValue, leftTable } from './table';

/**
 * Run control through Temporal: pause/unpause are signals, cancel is Temporal's cancellation,
 * status is the progress query plus the trainer's last heartbeat, ls is a visibility query over
 * the search attributes, resume reads a closed run's last state from its history.
 */

/**
 * `retain status`: one line from the run's query and heartbeat, plus its Temporal status; for a
 * failed (terminated, timed out) run, also its cause (RunFailedError: exit code 3). A running run
 * that no worker serves says so at once, since its progress query would wait for a worker to answer.
 */
export async function statusLine(client: Client, runId: string): Promise<{ line: string; failure?: Error }> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const status = description.status.name;
  if (status === 'FAILED' || status === 'TERMINATED' || status === 'TIMED_OUT') {
    // A closed run's result() answers at once, with the failure it ended with.
    const failure = await resultOrRunFailure(runId, handle.result()).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    return { line: `${runId}: ${status.toLowerCase()}`, failure };
  }
  if (status !== 'RUNNING') return { line: `${runId}: ${status.toLowerCase()}` };
  if (description.type === SWEEP_WORKFLOW_TYPE)
    return { line: `${runId}: sweep · ${formatSweepProgress(await handle.query(sweepProgressQuery))}` };
  const unserved = await unservedQueues(client, await runQueues(client, handle));
  if (unserved.includes(description.taskQueue)) return { line: `${runId}: running · waiting for a worker: ${noWorkerMessage(unserved)}` };
  const s = await snapshot(handle);
  // The run's start, not this continue-as-new execution's: ETA extrapolates over the whole run.
  const started = s.run?.startedAt ? Date.parse(s.run.startedAt) : description.startTime.getTime();
  return { line: `${runId}: ${s.run?.paused ? 'paused' : 'running'} · ${formatProgress(s, (Date.now() - started) / 1000)}` };
}

/** The `RetainStatus` values a run has, which `retain ls --status` accepts. */
const runStatuses: Record<RunStatus, true> = { running: true, paused: true, completed: true, failed: true, cancelled: true };
export const RUN_STATUSES = Object.keys(runStatuses) as RunStatus[];

export interface ListFilter {
  spec?: string;
  method?: string;
  quantizer?: string;
  status?: string;
}

/** The visibility query for `retain ls`: experiment runs and sweeps (not their continued-as-new executions) matching every filter. */
export function listQuery(filter: ListFilter): string {
  const clauses = [`WorkflowType IN ('experimentWorkflow', '${SWEEP_WORKFLOW_TYPE}')`, `ExecutionStatus != 'ContinuedAsNew'`];
  // Backslash first, then quotes: the visibility query's strings use SQL's backslash escapes.
  const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (filter.spec) clauses.push(`${specNameKey.name} = ${quote(filter.spec)}`);
  if (filter.method) clauses.push(`${methodKey.name} = ${quote(filter.method)}`);
  if (filter.quantizer) clauses.push(`${quantizersKey.name} = ${quote(filter.quantizer)}`);
  if (filter.status) clauses.push(`${statusKey.name} = ${quote(filter.status)}`);
  return clauses.join(' AND ');
}

export interface RunListing {
  runId: string;
  /** A run, or a sweep (whose cells are runs listed beside it). */
  kind: 'run' | 'sweep';
  status: string;
  spec: string;
  method: string;
  quantizers: string[];
  startTime: Date;
  /** ACC and BWT per model (fp32, each quantizer id) from the results of a completed run; absent for the others. */
  metrics?: Record<string, ListedMetrics>;
}

/** The metrics `retain ls` shows per model. */
export interface ListedMetrics {
  acc: number;
  bwt: number | null;
}

export async function listRuns(client: Client, filter: ListFilter): Promise<RunListing[]> {
  const runs: RunListing[] = [];
  for await (const w of client.workflow.list({ query: listQuery(filter) })) {
    const a = w.typedSearchAttributes;
    runs.push({
      runId: w.workflowId,
      kind: w.type === SWEEP_WORKFLOW_TYPE ? 'sweep' : 'run',
      status: a.get(statusKey) ?? w.status.name.toLowerCase(),
      spec: a.get(specNameKey) ?? '',
      method: a.get(methodKey) ?? '',
      quantizers: a.get(quantizersKey) ?? [],
      startTime: w.startTime,
    });
  }
  return runs;
}

/** The models whose metrics `ls` has columns for: fp32 first, then each quantizer id in the order the runs list them. */
export function listedModels(runs: RunListing[]): string[] {
  const models = new Set<string>();
  for (const r of runs) for (const m of Object.keys(r.metrics ?? {})) models.add(m);
  return [...models].sort((a, b) => (a === FP32 ? -1 : b === FP32 ? 1 : 0));
}

/** The header of `ls`: the run's fields, then ACC and BWT of each model. */
export function listingHeader(models: string[]): string[] {
  return ['run', 'kind', 'status', 'spec', 'method', 'quantizers', 'started', ...models.flatMap((m) => [`ACC ${m}`, `BWT ${m}`])];
}

/** One run's row of `ls`, under listingHeader(models); a model a run lacks (or a run not completed) leaves its cells blank. */
export function listingRow(r: RunListing, models: string[]): string[] {
  const fixed = (v: number | null | undefined, signed: boolean) => (v === undefined ? '' : formatValue(v, signed));
  return [
    r.runId,
    r.kind,
    r.status,
    r.spec,
    r.method,
    r.quantizers.join(','),
    r.startTime.toISOString(),
    ...models.flatMap((m) => [fixed(r.metrics?.[m]?.acc, false), fixed(r.metrics?.[m]?.bwt, true)]),
  ];
}

export function formatListing(runs: RunListing[]): string {
  const models = listedModels(runs);
  const rows = [listingHeader(models), ...runs.map((r) => listingRow(r, models))];
  return leftTable(rows);
}

/** `retain ls --json`: one object per run, metrics null where the run has no results. */
export function listingJson(runs: RunListing[]): unknown[] {
  return runs.map((r) => ({ ...r, startTime: r.startTime.toISOString(), metrics: r.metrics ?? null }));
}

/**
 * The input of a new run that continues `runId` after its last completed task, with the same
 * artifacts, under a new run id, with `spec` for the remaining tasks. The state comes from the
 * history of the run's last execution: the state it started with (continue-as-new carries it),
 * advanced past every task that execution finished. If the next task was interrupted mid-training
 * (cancelled, or timed out), its last checkpoint goes along, and the new run continues the task
 * from there rather than from step 0.
 */
export async function resumeInput(client: Client, runId: string, newRunId: string, corrected?: ExperimentSpec): Promise<ExperimentInput> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const status = description.status.name;
  if (status === 'RUNNING') throw new Error(`run ${runId} is still running: \`retain cancel ${runId}\` first, or let it finish`);
  if (status === 'COMPLETED') throw new Error(`run ${runId} completed: there is nothing to resume (\`retain result ${runId}\` shows it)`);
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`run ${runId}: its history has no start input; it is not a Retain experiment run`);
  const last = defaultPayloadConverter.fromPayload<ExperimentInput>(payload);
  const spec = corrected ?? last.spec;
  if (corrected) checkResumable(last.spec, corrected);
  const { state: reached, trained, interrupted } = stateReached(runId, last, history.events ?? []);
  if (!reached) return { spec }; // it failed before its first task: start over (prepare is deterministic)
  const state: ExperimentState = { ...reached, runId: newRunId, spec, resumedFrom: { runId, task: reached.nextTask } };
  // The next task's training, if it completed, holds as long as the spec trains the same way.
  // So does its last mid-task checkpoint, if the task's training was interrupted instead.
  const next = trained.get(reached.nextTask);
  const checkpoint = interrupted.get(reached.nextTask);
  if (trainsAlike(last.spec, spec)) {
    if (next) state.nextTaskTrained = next;
    else if (checkpoint) state.nextTaskResumeFrom = checkpoint;
  }
  return { spec, state };
}

/** Whether two specs of one run (same benchmark, model and seed) train a task to the same bytes. */
function trainsAlike(a: ExperimentSpec, b: ExperimentSpec): boolean {
  return same(a.trainer, b.trainer) && same(a.method, b.method) && same(a.qat, b.qat);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * The state an execution had reached when it closed, as the workflow built it: its start state
 * (or, in a run's first execution, the one startRun's result made), then each finishTask's result;
 * what each completed trainTask returned, by task; and, by task, the last checkpoint of a trainTask
 * that was interrupted (cancelled, or timed out) rather than completed.
 */
function stateReached(
  runId: string,
  input: ExperimentInput,
  events: HistoryEvent[],
): { state: ExperimentState | undefined; trained: Map<number, TrainTaskOutput>; interrupted: Map<number, TrainResumePoint> } {
  let state = input.state;
  const trained = new Map<number, TrainTaskOutput>();
  const interrupted = new Map<number, TrainResumePoint>();
  const scheduled = new Map<string, { type: string; input?: unknown }>();
  for (const [i, e] of events.entries()) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '', input: decode(s.input?.payloads?.[0]) });
    const stopped = interruptedTraining(e, scheduled);
    if (stopped) interrupted.set(stopped.taskIndex, stopped.checkpoint);
    const done = e.activityTaskCompletedEventAttributes;
    const activity = done && scheduled.get(String(done.scheduledEventId));
    if (!done || !activity) continue;
    const result = decode(done.result?.payloads?.[0]);
    if (activity.type === 'startRun' && !state) {
      const started = result as StartRunOutput;
      // The workflow stamped startedAt with its clock: the start of the workflow task that took this result.
      const taken = events.slice(i + 1).find((next) => next.workflowTaskStartedEventAttributes)?.eventTime ?? e.eventTime;
      state = {
        runId,
        spec: input.spec,
        info: started.info,
        nextTask: 0,
        initialCheckpointRef: started.checkpointRef,
        initialRef: started.initialRef,
        ...(started.initialEvaluationsRef ? { initialEvaluationsRef: started.initialEvaluationsRef } : {}),
        startedAt: tsToDate(taken!).toISOString(),
      };
    }
    if (activity.type === 'trainTask') trained.set((activity.input as TrainTaskInput).taskIndex, result as TrainTaskOutput);
    if (activity.type === 'finishTask' && state) {
      const { taskIndex } = activity.input as FinishTaskInput;
      state = { ...state, nextTask: taskIndex + 1, last: result as FinishedTask };
    }
  }
  return { state, trained, interrupted };
}

/**
 * The checkpoint a trainTask ended on when `e` records it interrupted: a cancellation's details or
 * a timeout's last heartbeat (a TrainHeartbeat either way, see train-task.ts), else the resume point
 * the attempt was handed (it had saved none of its own yet).
 */
function interruptedTraining(
  e: HistoryEvent,
  scheduled: Map<string, { type: string; input?: unknown }>,
): { taskIndex: number; checkpoint: TrainResumePoint } | undefined {
  const cancelled = e.activityTaskCanceledEventAttributes;
  const timedOut = e.activityTaskTimedOutEventAttributes;
  const activity = scheduled.get(String((cancelled ?? timedOut)?.scheduledEventId));
  if (activity?.type !== 'trainTask') return undefined;
  const { taskIndex, resumeFrom } = activity.input as TrainTaskInput;
  const details = cancelled?.details ?? timedOut?.failure?.timeoutFailureInfo?.lastHeartbeatDetails;
  const heartbeat = decode(details?.payloads?.[0]) as TrainHeartbeat | undefined;
  const checkpoint = (heartbeat?.taskIndex === taskIndex ? heartbeat.checkpoint : undefined) ?? resumeFrom;
  return checkpoint && { taskIndex, checkpoint };
}

const decode = (payload: Payload | null | undefined): unknown => (payload ? defaultPayloadConverter.fromPayload(payload) : undefined);

/**
 * A corrected spec may change how the remaining tasks are trained (trainer, method, evaluators,
 * task queue), not what the finished tasks' numbers mean: the same tasks, model, seed and quantizers.
 */
export function checkResumable(old: ExperimentSpec, next: ExperimentSpec): void {
  const problems: SpecError[] = [];
  const keep = 'must stay as in the run being resumed, since finished tasks used it; start a new run to change it';
  if (!same(old.benchmark, next.benchmark)) problems.push(new SpecError('benchmark', keep));
  if (!same(old.model, next.model)) problems.push(new SpecError('model', keep));
  if (old.seed !== next.seed) problems.push(new SpecError('seed', keep));
  if (!same(old.quantizers, next.quantizers)) problems.push(new SpecError('quantizers', keep));
  if (problems.length) throw new SpecErrors(problems);
}
