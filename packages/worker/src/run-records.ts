import { openArtifactStore, type ArtifactRef, type ArtifactStore } from '@retain/artifacts';
import { quantizationGap, quantizationMetrics, summarize, summarizeLoss, type LossMatrix } from '@retain/metrics';
import { FP32, LOSS_EVALUATION, type ExperimentOutcome, type ExperimentResult, type ExperimentState, type TaskRecord } from '@retain/sdk';

/**
 * Task records (one JSON artifact per finished task, each naming the one before) and the result a
 * run assembles from them. JSON here keeps its keys in the order they were built (not the store's
 * canonical sorted order), so results.json reads as it always did: runId, spec, tasks, ...
 */

/** Stores `value` as JSON in insertion order; equal values built the same way give equal refs. */
export function putOrderedJson(artifacts: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  return artifacts.put(new TextEncoder().encode(JSON.stringify(value)));
}

/** The `count` records of a run's tasks 0..count-1, walking back from the last one's ref. */
export async function loadTaskRecords(artifacts: ArtifactStore, lastRef: ArtifactRef | undefined, count: number): Promise<TaskRecord[]> {
  const records: TaskRecord[] = new Array<TaskRecord>(count);
  let ref = lastRef;
  for (let t = count - 1; t >= 0; t--) {
    if (!ref) throw new Error(`task records: the chain ends before task ${t} (expected ${count} tasks); the run's state is damaged`);
    const record = await artifacts.getJson<TaskRecord>(ref);
    if (record.taskIndex !== t)
      throw new Error(`task records: artifact ${ref} holds task ${record.taskIndex} where task ${t} was expected`);
    records[t] = record;
    ref = record.previousRef;
  }
  if (ref) throw new Error(`task records: task 0's record names a previous record (${ref}); the run's state is damaged`);
  return records;
}

/**
 * results.json of a run: the same fields, in the same order, as the workflow built them before task
 * records. Each matrix stacks the records' rows as they are: a cell the spec's evaluation policy
 * skipped stays null, and the metrics read only the cells they need (docs/architecture.md §6).
 */
export function assembleResult(
  state: ExperimentState,
  initial: number[],
  records: TaskRecord[],
  finishedAt: string,
  initialEvaluations?: Record<string, Array<number | null>>,
): ExperimentResult {
  const keys = [FP32, ...state.spec.quantizers.map((q) => q.id)];
  const matrices = Object.fromEntries(keys.map((k) => [k, records.map((r) => rowOf(r, k))]));
  const metrics = Object.fromEntries(keys.map((k) => [k, summarize(matrices[k], initial)]));
  const fp32 = matrices[FP32];
  const quantized = keys.filter((k) => k !== FP32);
  const models = records.map((r) => r.models);
  const evaluations = evaluationMatricesOf(records);
  const lossMetrics = lossMetricsOf(evaluations.evaluations, initialLossOf(initialEvaluations));
  return {
    runId: state.runId,
    spec: state.spec,
    tasks: state.info.taskNames,
    initial,
    // With the perplexity evaluator only, so every other results.json stays as it was.
    ...(lossMetrics.lossMetrics && lossMetrics.initialLoss ? { initialLoss: lossMetrics.initialLoss } : {}),
    matrices,
    metrics,
    quantizationGap: Object.fromEntries(quantized.map((k) => [k, quantizationGap(fp32, matrices[k])])),
    quantization: Object.fromEntries(
      quantized.map((k) => [
        k,
        quantizationMetrics(
          fp32,
          matrices[k],
          models.map((m) => m.quantized[k]),
        ),
      ]),
    ),
    ...evaluations,
    ...(lossMetrics.lossMetrics ? { lossMetrics: lossMetrics.lossMetrics } : {}),
    training: records.map((r) => r.training),
    models,
    startedAt: state.startedAt,
    finishedAt,
    ...(state.resumedFrom ? { resumedFrom: state.resumedFrom } : {}),
  };
}

function rowOf(record: TaskRecord, key: string): TaskRecord['rows'][string] {
  const row = record.rows[key];
  if (!row)
    throw new Error(`task ${record.taskIndex}'s record has no accuracy row for '${key}' (it has ${Object.keys(record.rows).join(', ')})`);
  return row;
}

/**
 * The ExperimentResult of a finished run, from what its workflow returned (the result artifact's
 * ref). `artifacts`: the store the run's workers use, or the local folder used unless RETAIN_ARTIFACTS is set.
 */
export async function experimentResultOf(output: ExperimentOutcome, artifacts: ArtifactStore | string): Promise<ExperimentResult> {
  const store = typeof artifacts === 'string' ? openArtifactStore(artifacts) : artifacts;
  return store.getJson<ExperimentResult>(output.resultRef);
}

/**
 * `evaluations` of results.json: each record's rows of the other evaluators stacked into matrices
 * (row t after task t; null for a task that did not run that evaluator, as in a run resumed with
 * other evaluators); nothing when no record has any.
 */
function evaluationMatricesOf(records: TaskRecord[]): Pick<ExperimentResult, 'evaluations'> {
  if (!records.some((r) => r.evaluations)) return {};
  const evaluations: NonNullable<ExperimentResult['evaluations']> = {};
  for (const [t, record] of records.entries()) {
    for (const [model, results] of Object.entries(record.evaluations ?? {})) {
      for (const [name, row] of Object.entries(results)) {
        ((evaluations[model] ??= {})[name] ??= records.map(() => null))[t] = row;
      }
    }
  }
  return { evaluations };
}

/**
 * `lossMetrics` of results.json: the loss metrics of each model's `perplexity.loss` matrix (the
 * perplexity evaluator's), for the models every task evaluated with it; nothing when there is none
 * (a spec without the evaluator, whose results.json stays as it was). A run resumed with the
 * evaluator added midway has rows without it, where the metrics' cells are missing: it gets none.
 * `initialLoss`, the untrained model's loss per task, gives FWT (null without it) and goes into
 * results.json beside the metrics it served.
 */
export function lossMetricsOf(
  evaluations: ExperimentResult['evaluations'],
  initialLoss?: number[],
): Pick<ExperimentResult, 'lossMetrics' | 'initialLoss'> {
  const lossMetrics: NonNullable<ExperimentResult['lossMetrics']> = {};
  for (const [model, results] of Object.entries(evaluations ?? {})) {
    const rows = results[LOSS_EVALUATION];
    if (rows?.every((row): row is LossMatrix[number] => row !== null)) lossMetrics[model] = summarizeLoss(rows, initialLoss);
  }
  if (!Object.keys(lossMetrics).length) return {};
  return { lossMetrics, ...(initialLoss ? { initialLoss } : {}) };
}

/** The untrained model's loss per task (b of the loss's FWT), when the run's start evaluated it on every task. */
function initialLossOf(initialEvaluations: Record<string, Array<number | null>> | undefined): number[] | undefined {
  const row = initialEvaluations?.[LOSS_EVALUATION];
  return row?.every((v): v is number => v !== null) ? row : undefined;
}
