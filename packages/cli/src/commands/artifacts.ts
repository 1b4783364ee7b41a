import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { openArtifactStore, type ArtifactRef, type ArtifactStore } from '@retain/artifacts';
import { FP32, type ExperimentResult, type SweepResult } from '@retain/sdk';
import { ARTIFACT_KINDS, createWorkerContext, exportModel, refsOfRun, type ArtifactKind, type RunArtifacts } from '@retain/worker';
import { paths, withClient } from '../connection';
import { listQuery } from '../control';
import { BadInputError, log } from '../output';
import { parseResultsRef } from '../results-args';
import { isResultsFile, loadResultsById, loadResultsFile, SWEEP_WORKFLOW_TYPE } from '../results-source';
import { parseRunId } from '../run-id';
import { formatRunResults, formatSpec, formatSweep, formatTasks } from '../show';
import { alignTable } from '../table';
import { formatSweepSummary, sweepSummary } from '../sweep-show';
import { pluginRegistry, pluginsOption } from './plugins';

/** What `retain gc` spares by default besides what runs name: an activity may have just written an artifact no record names yet. */
export const DEFAULT_GC_GRACE = '1h';

/** `show`, `export`, `gc`: the artifacts runs hold in the store (RETAIN_ARTIFACTS, or the local folder). */
export function addArtifactCommands(program: Command): void {
  program
    .command('show')
    .description(
      'one run in full (status, spec, tasks, matrices, metrics, training, the artifacts it holds: counts and bytes by kind), ' +
        'or one sweep (its cells and status, each group mean ± std over seeds)',
    )
    .argument('<run>', 'a run or sweep id, or a results.json / sweep.json file')
    .option('--json', 'print it as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const shown = await show(parseResultsRef(ref));
      process.stdout.write(opts.json ? `${JSON.stringify(shown.json, null, 2)}\n` : `${shown.text}\n`);
    });

  program
    .command('export')
    .description("write one task's model as an ONNX file (fp32, or a quantizer's), checked to load in onnxruntime")
    .argument('<runId>', 'the run', parseRunId)
    .requiredOption('--task <i>', 'the task, 0-based', nonNegativeInteger)
    .requiredOption('--model <id>', `'${FP32}' or a quantizer id of the spec (e.g. rtn-int8)`)
    .option('--head <h>', 'the head to export (default: the one that evaluates the task)', nonNegativeInteger)
    .requiredOption('--out <file>', 'the ONNX file to write')
    .addOption(pluginsOption())
    .action(async (runId: string, opts: { task: number; model: string; head?: number; out: string; plugins?: string[] }) => {
      const registry = await pluginRegistry(opts.plugins);
      const artifacts = artifactStore();
      const run = await withClient((client) => refsOfRun(client, artifacts, runId));
      const record = run.records.get(opts.task);
      if (!run.spec) throw new BadInputError(`run ${runId} is not a Retain experiment run: its history has no spec`);
      if (!record) {
        const done = [...run.records.keys()].sort((a, b) => a - b);
        throw new BadInputError(
          `--task ${opts.task}: run ${runId} has not finished that task (finished: ${done.length ? done.join(', ') : 'none'})`,
        );
      }
      const models = [FP32, ...Object.keys(record.models.quantized)];
      if (!models.includes(opts.model))
        throw new BadInputError(`--model ${opts.model}: task ${opts.task} has no such model; it has ${models.join(', ')}`);
      const ctx = createWorkerContext({ registry, artifacts });
      const bytes = await exportModel(ctx, {
        spec: run.spec,
        taskIndex: opts.task,
        models: record.models,
        model: opts.model,
        head: opts.head,
      });
      const out = resolve(opts.out);
      await writeFile(out, bytes);
      log(`task ${opts.task}'s ${opts.model} model (${formatBytes(bytes.byteLength)}) written to ${out}`);
    });

  program
    .command('gc')
    .description('delete the artifacts no run on the Temporal server names (older than --keep-younger-than)')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option(
      '--keep-younger-than <duration>',
      'spare artifacts written this recently (e.g. 30m, 1h, 2d; 0 spares none)',
      duration,
      duration(DEFAULT_GC_GRACE),
    )
    .option('--force', 'delete even when no run on the server names anything in the store (every run that used it is gone)')
    .action(async (opts: { dryRun?: boolean; keepYoungerThan: number; force?: boolean }) => {
      const store = artifactStore();
      const report = await withClient((client) =>
        collectGarbage(client, store, { graceMs: opts.keepYoungerThan, dryRun: opts.dryRun === true, force: opts.force === true }),
      );
      const verb = opts.dryRun ? 'would delete' : 'deleted';
      process.stdout.write(
        `${verb} ${count(report.deleted.count, 'artifact')} (${formatBytes(report.deleted.bytes)}); kept ` +
          `${report.live.count} named by ${count(report.runs, 'run')} (${formatBytes(report.live.bytes)}) and ` +
          `${report.young.count} younger than ${formatDuration(opts.keepYoungerThan)} (${formatBytes(report.young.bytes)}) ` +
          `in ${store.location}\n`,
      );
    });
}

function artifactStore(): ArtifactStore {
  return openArtifactStore(paths().artifacts);
}

/**
 * What `retain show` prints: a results file as it is (no server); a sweep by id, its results once
 * it has finished; a run by id, its artifacts (as they stand, whatever its status) and, once
 * completed, its results.
 */
async function show(ref: string): Promise<{ text: string; json: unknown }> {
  if (isResultsFile(ref)) {
    const loaded = loadResultsFile(ref);
    return loaded.kind === 'sweep'
      ? { text: formatSweep(loaded.result), json: { kind: 'sweep', ...loaded.result } }
      : { text: formatRunResults(loaded.result), json: { kind: 'run', result: loaded.result } };
  }
  const store = artifactStore();
  return withClient(async (client) => {
    const description = await client.workflow.getHandle(ref).describe();
    const status = description.status.name.toLowerCase();
    if (description.type === SWEEP_WORKFLOW_TYPE) {
      if (status !== 'completed') {
        // Under way or stopped: each cell's status so far, from the sweep's plan and the server.
        const summary = await sweepSummary(client, store, ref);
        return { text: formatSweepSummary(summary), json: { kind: 'sweep', ...summary } };
      }
      const loaded = await loadResultsById(client, ref);
      return { text: formatSweep(loaded.result as SweepResult), json: { kind: 'sweep', status, ...loaded.result } };
    }
    const run = await refsOfRun(client, store, ref);
    const summary = summarize(run, await sizesIn(store));
    const result = status === 'completed' ? await resultsInStore(client, ref) : undefined;
    const sections = [formatHeader(summary, store)];
    if (result) sections.push(formatRunResults(result));
    else {
      if (run.spec) sections.push(formatSpec(run.spec));
      if (run.taskNames) sections.push(formatTasks(run.taskNames));
      if (status === 'completed')
        sections.push(`Its results.json is not in ${store.location} (another store?); the artifacts below say what is missing`);
    }
    sections.push(formatArtifacts(summary));
    return { text: sections.join('\n\n'), json: { kind: 'run', ...summary, spec: run.spec, ...(result ? { result } : {}) } };
  });
}

/** A completed run's results, or undefined when this store lacks them (a run whose workers wrote to another store). */
async function resultsInStore(client: Client, runId: string): Promise<ExperimentResult | undefined> {
  const { resultRef } = (await client.workflow.getHandle(runId).result()) as { resultRef: ArtifactRef };
  const store = artifactStore();
  return (await store.has(resultRef)) ? store.getJson<ExperimentResult>(resultRef) : undefined;
}

interface Tally {
  count: number;
  bytes: number;
}

/** `retain show --json`. */
export interface RunSummary {
  runId: string;
  status: string;
  executions: number;
  /** Tasks in the run (once prepared), and those finished (with a task record). */
  tasks?: number;
  finishedTasks: number[];
  kinds: Record<ArtifactKind, Tally>;
  total: Tally;
  /** Refs the run names that are not in the store (deleted, or in another store). */
  missing: ArtifactRef[];
}

function summarize(run: RunArtifacts, sizes: Map<ArtifactRef, number>): RunSummary {
  const kinds = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, { count: 0, bytes: 0 }])) as Record<ArtifactKind, Tally>;
  const total = { count: 0, bytes: 0 };
  const missing = new Set(run.missing);
  for (const [ref, kind] of run.refs) {
    const bytes = sizes.get(ref);
    if (bytes === undefined) {
      missing.add(ref);
      continue;
    }
    kinds[kind].count++;
    kinds[kind].bytes += bytes;
    total.count++;
    total.bytes += bytes;
  }
  const tasks = run.taskNames?.length;
  return {
    runId: run.runId,
    status: run.status,
    executions: run.executions,
    ...(tasks === undefined ? {} : { tasks }),
    finishedTasks: [...run.records.keys()].sort((a, b) => a - b),
    kinds,
    total,
    missing: [...missing].sort(),
  };
}

/** `<run>: completed · 2 of 2 tasks finished · artifacts in local folder ...`. */
function formatHeader(s: RunSummary, store: ArtifactStore): string {
  const finished = `${s.finishedTasks.length}${s.tasks === undefined ? '' : ` of ${s.tasks}`} tasks finished`;
  return `${s.runId}: ${s.status} · ${finished} · artifacts in ${store.location}`;
}

/** The artifacts a run names, by kind: count and bytes, and how many are missing from the store. */
function formatArtifacts(s: RunSummary): string {
  const rows = [
    ['kind', 'count', 'bytes'],
    ...ARTIFACT_KINDS.filter((k) => s.kinds[k].count > 0).map((k) => [k, String(s.kinds[k].count), formatBytes(s.kinds[k].bytes)]),
    ['total', String(s.total.count), formatBytes(s.total.bytes)],
  ];
  const lines = [`Artifacts\n${alignTable(rows)}`];
  if (s.missing.length) lines.push(`${s.missing.length} artifacts the run names are not in this store`);
  return lines.join('\n');
}

/** Every artifact's size, from one listing of the store. */
async function sizesIn(store: ArtifactStore): Promise<Map<ArtifactRef, number>> {
  const sizes = new Map<ArtifactRef, number>();
  for await (const { ref, bytes } of store.list()) sizes.set(ref, bytes);
  return sizes;
}

export interface GcReport {
  runs: number;
  live: Tally;
  young: Tally;
  deleted: Tally;
}

/** Deletions in flight at once: enough to hide an S3 round trip, few enough not to be throttled. */
const DELETE_CONCURRENCY = 16;

/**
 * Mark and sweep: the live set is every ref any experiment run on the server names (refsOfRun:
 * running runs through their history and pending heartbeats, closed ones through their results
 * and records) or any schedule's sweep plan names, all of it found before anything is deleted, so a failure to read any run deletes
 * nothing. Artifacts younger than `graceMs` are spared: an activity may have stored one that no
 * history names yet (a checkpoint before its heartbeat reaches the server). Unless `force`, a store
 * none of whose artifacts any run names is left alone (see below).
 */
export async function collectGarbage(
  client: Client,
  store: ArtifactStore,
  opts: { graceMs: number; dryRun: boolean; force: boolean },
): Promise<GcReport> {
  const started = Date.now();
  const live = new Set<ArtifactRef>();
  let runs = 0;
  // One entry per run id and its latest execution (refsOfRun walks back through continue-as-new).
  for await (const execution of client.workflow.list({ query: listQuery({}) })) {
    const run = await refsOfRun(client, store, execution.workflowId, execution.runId);
    for (const ref of run.refs.keys()) live.add(ref);
    runs++;
  }
  // A scheduled sweep's plan is stored when the schedule is created; no workflow names it before the first firing.
  for await (const schedule of client.schedule.list()) {
    const action = (await client.schedule.getHandle(schedule.scheduleId).describe()).action as { args?: Array<{ planRef?: unknown }> };
    const planRef = action.args?.[0]?.planRef;
    if (typeof planRef === 'string') live.add(planRef);
  }
  const report: GcReport = { runs, live: { count: 0, bytes: 0 }, young: { count: 0, bytes: 0 }, deleted: { count: 0, bytes: 0 } };
  const garbage: ArtifactRef[] = [];
  for await (const { ref, bytes, modified } of store.list()) {
    const tally = live.has(ref) ? report.live : started - modified.getTime() < opts.graceMs ? report.young : report.deleted;
    tally.count++;
    tally.bytes += bytes;
    if (tally === report.deleted) garbage.push(ref);
  }
  // A store none of whose artifacts any run names is far more likely seen through the wrong server
  // or namespace (or the wrong store) than truly abandoned: deleting it all would be unrecoverable.
  if (garbage.length && report.live.count === 0 && !opts.dryRun && !opts.force)
    throw new BadInputError(
      `no run on the Temporal server (${count(report.runs, 'run')} in namespace '${client.options.namespace}') names any artifact in ` +
        `${store.location}, so gc deleted nothing: check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (and RETAIN_ARTIFACTS). ` +
        `If every run that used this store is gone, \`retain gc --force\` deletes its ${garbage.length} artifacts.`,
    );
  if (!opts.dryRun) {
    for (let i = 0; i < garbage.length; i += DELETE_CONCURRENCY) {
      await Promise.all(garbage.slice(i, i + DELETE_CONCURRENCY).map((ref) => store.delete(ref)));
    }
  }
  return report;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `1h`, `2d` (or `0`) in milliseconds. */
function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])?$/.exec(value.trim());
  if (!match || (!match[2] && Number(match[1]) !== 0))
    throw new InvalidArgumentError(`'${value}' is not a duration: write a number and a unit, s, m, h or d (e.g. 30m, 1h, 2d), or 0`);
  return Number(match[1]) * (match[2] ? UNITS[match[2]] : 0);
}

function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's']) if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms / 1000}s`;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not a non-negative integer`);
  return n;
}

/** Bytes in binary units (the sizes `ls -h` and `du -h` print). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
