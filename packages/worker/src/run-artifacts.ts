import type { ArtifactRef, ArtifactStore } from '@retain/artifacts';
import { defaultPayloadConverter, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ExperimentInput, ExperimentSpec, StartRunOutput, TaskRecord } from '@retain/sdk';

/**
 * Which artifacts a run holds: every ref its Temporal executions name (inputs, results, the
 * heartbeats of activities still pending, cancellation details), and every ref inside the JSON
 * artifacts those name (results.json, task records and their chain, quantized manifests). One
 * definition, used by `retain show` (what a run holds) and `retain gc` (what no run holds).
 */

/** What an artifact is for, by the field that names it. */
export type ArtifactKind = 'checkpoints' | 'quantized models' | 'codes' | 'records' | 'results' | 'other';

export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['checkpoints', 'quantized models', 'codes', 'records', 'results', 'other'];

/** The field names of Retain's run types (packages/sdk/src/run.ts) that hold refs, by kind. */
const KIND_OF_FIELD: Record<string, ArtifactKind> = {
  checkpointRef: 'checkpoints',
  initialCheckpointRef: 'checkpoints',
  methodStateRef: 'checkpoints',
  methodStepStateRef: 'checkpoints',
  manifestRef: 'quantized models',
  heads: 'quantized models',
  codesRef: 'codes',
  fixedGridRef: 'codes',
  recordRef: 'records',
  previousRef: 'records',
  initialRef: 'records',
  resultRef: 'results',
};

const REF_IN_TEXT = /sha256:[0-9a-f]{64}/g;

/** Fields naming JSON artifacts that name further artifacts: results.json, task records, quantized manifests. */
const FOLLOWED_FIELDS = new Set(['resultRef', 'recordRef', 'previousRef', 'manifestRef']);

/** A run's artifacts: each ref with its kind (the first field found naming it). */
export interface RunArtifacts {
  runId: string;
  /** Temporal's status of the run's latest execution, lower case: running, completed, failed, ... */
  status: string;
  /** Executions walked (a run continues as new every few hundred tasks). */
  executions: number;
  /** The run's spec, from its latest execution's input. */
  spec?: ExperimentSpec;
  /** Its tasks' names, once startRun has prepared it. */
  taskNames?: string[];
  refs: Map<ArtifactRef, ArtifactKind>;
  /** The records of its finished tasks, by task index. */
  records: Map<number, TaskRecord>;
  /** JSON artifacts the run names that the store no longer has (their own refs could not be followed). */
  missing: ArtifactRef[];
}

/**
 * The artifacts of run `runId` (a workflow id), walking its executions back through
 * continue-as-new from the latest one (or from `executionId`, to pin one run of a reused id).
 */
export async function refsOfRun(client: Client, artifacts: ArtifactStore, runId: string, executionId?: string): Promise<RunArtifacts> {
  const refs = new Map<ArtifactRef, ArtifactKind>();
  const followed = new Set<ArtifactRef>();
  const missing: ArtifactRef[] = [];
  const toFollow: ArtifactRef[] = [];
  const records = new Map<number, TaskRecord>();
  const found = (ref: ArtifactRef, field: string | undefined) => {
    if (!refs.has(ref)) refs.set(ref, (field && KIND_OF_FIELD[field]) || 'other');
    if (field && FOLLOWED_FIELDS.has(field) && !followed.has(ref)) {
      followed.add(ref);
      toFollow.push(ref);
    }
  };

  const latest = client.workflow.getHandle(runId, executionId);
  const description = await latest.describe();
  // A pending activity's heartbeat (a trainTask's last checkpoint) is in the execution's mutable state, not its history.
  walk(description.raw.pendingActivities, undefined, found);
  let execution: string | undefined = description.runId;
  let executions = 0;
  let spec: ExperimentSpec | undefined;
  let taskNames: string[] | undefined;
  while (execution) {
    const history = await client.workflow.getHandle(runId, execution).fetchHistory();
    executions++;
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const started = input ? defaultPayloadConverter.fromPayload<ExperimentInput>(input) : undefined;
    spec ??= started?.spec;
    taskNames ??= started?.state?.info.taskNames ?? startRunResultOf(history.events ?? [])?.info.taskNames;
    walk(history.events, undefined, found);
    execution = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  }
  while (toFollow.length) {
    const ref = toFollow.pop()!;
    if (!(await artifacts.has(ref))) {
      missing.push(ref);
      continue;
    }
    const value = await artifacts.getJson<unknown>(ref);
    if (isTaskRecord(value)) records.set(value.taskIndex, value);
    walk(value, undefined, found);
  }
  return { runId, status: description.status.name.toLowerCase(), executions, spec, taskNames, refs, records, missing };
}

/**
 * Every ref in a value: history events and descriptions as the SDK decodes them, whose payloads
 * (`{ metadata, data }`) are decoded as Temporal's JSON; `field` is the name the value is under.
 */
function walk(value: unknown, field: string | undefined, found: (ref: ArtifactRef, field: string | undefined) => void): void {
  if (typeof value === 'string') {
    // Refs inside text too (only a whole-string ref has a field's kind): a failure's message names
    // the last good checkpoint ("... (artifact sha256:...)").
    for (const ref of value.match(REF_IN_TEXT) ?? []) found(ref, ref === value ? field : undefined);
    return;
  }
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, field, found);
    return;
  }
  if (isPayload(value)) {
    walk(decodePayload(value), field, found);
    return;
  }
  for (const [key, item] of Object.entries(value)) walk(item, key, found);
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** What startRun returned, in a run's first execution. */
function startRunResultOf(events: HistoryEvent[]): StartRunOutput | undefined {
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startRun');
  if (!scheduled) return undefined;
  const done = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
  const payload = done?.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<StartRunOutput>(payload) : undefined;
}

function isTaskRecord(value: unknown): value is TaskRecord {
  const record = value as Partial<TaskRecord> | null;
  return typeof record?.taskIndex === 'number' && typeof record.models === 'object';
}

interface Payload {
  metadata: Record<string, Uint8Array>;
  data: Uint8Array;
}

function isPayload(value: object): value is Payload {
  const { metadata, data } = value as Partial<Payload>;
  // isView, not instanceof: the SDK's buffers may come from another realm (a jest sandbox).
  return ArrayBuffer.isView(data) && typeof metadata === 'object' && metadata !== null;
}

/** A payload's value; a payload the default converter cannot read (binary, encrypted) is searched as text, so no ref in it is missed. */
function decodePayload(payload: Payload): unknown {
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return new TextDecoder().decode(payload.data).match(REF_IN_TEXT) ?? [];
  }
}
