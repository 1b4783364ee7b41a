import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openArtifactStore } from '@retain/artifacts';
import type { PluginRegistry, SweepOutcome, SweepPlan, SweepProgress, SweepResult } from '@retain/sdk';
import { sweepProgressQuery, type sweepWorkflow } from '@retain/workflows';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { Device } from '@retain/worker';
import { connectTemporal, paths } from '../connection';
import { checkLocalWorker, followHere } from '../follow';
import { EXIT_OK, EXIT_RUN_FAILED, log, type ExitCode } from '../output';
import { parseRunId, runResultsDir } from '../run-id';
import { readSpecDocument } from '../spec-file';
import { planOf, planSweep, prepareSweep, resumeSweepPlan, sweepTaskQueues, type SweepWorkflowStart } from '../sweep';
import { pollEvery } from '../poll';
import { formatSweepProgress } from '../sweep-progress';
import { formatGroups, formatUnfinished, writeSweepOutputs } from '../sweep-output';
import { runUiLinkOn } from '../ui';
import { pluginRegistry, pluginsOption } from './plugins';
import { deviceOption, threadsOption } from './worker';

interface FollowOptions {
  out?: string;
  detach?: boolean;
  threads?: number;
  /** The execution provider of this process's worker (`retain worker --device`). */
  device?: Device;
  verbose?: boolean;
}

/** `retain sweep`: validate every cell of a sweep spec, start the sweep, run it here (unless --detach) and report it. */
export function addSweepCommand(program: Command, exit: ExitCode): void {
  program
    .command('sweep')
    .description("validate every cell of a spec's sweep section, start the sweep and (unless --detach) run it here with live progress")
    .argument('<spec>', 'a spec with a `sweep:` section (YAML)')
    .option('--out <dir>', 'where to write sweep.json and sweep.csv (default: <state>/runs/<sweep id>)')
    .option('--detach', 'start the sweep and print its id; separate `retain worker`s run it')
    .option('--id <sweepId>', 'sweep id (default: <spec name>-<time>-<random>); its cells are <sweep id>-c<index>', parseRunId)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option('--verbose', "write the worker's own logs (the Temporal SDK's, with stack traces) to <state>/runs/<sweep id>/worker.log")
    .addOption(pluginsOption())
    .action(async (specPath: string, opts: FollowOptions & { id?: string; plugins?: string[] }) => {
      // Validate every cell before anything starts: a bad cell costs no server, no worker, no run.
      await checkLocalWorker(opts);
      const registry = await pluginRegistry(opts.plugins);
      const raw = readSpecDocument(specPath);
      const name = (raw as { name?: unknown } | null)?.name;
      const sweepId = opts.id ?? `${typeof name === 'string' ? name : 'sweep'}-${timestamp()}-${randomBytes(2).toString('hex')}`;
      const expansion = planSweep(raw, registry, sweepId);
      const plan = planOf(sweepId, expansion);
      log(`sweep ${sweepId}: ${plan.cells.length} cells, ${expansion.spec.sweep.parallel} at once`);
      exit.code = await startAndFollowSweep(plan, opts, registry, (store) => prepareSweep(store, plan));
    });
}

/** `retain resume <sweep>`: a new sweep that reruns the failed and missing cells of `oldSweepId`, keeping its completed ones. */
export async function resumeSweep(
  oldSweepId: string,
  opts: FollowOptions & { spec?: string; id?: string },
  registry: PluginRegistry,
): Promise<number> {
  const sweepId = opts.id ?? resumedSweepId(oldSweepId);
  const corrected = opts.spec ? planSweep(readSpecDocument(opts.spec), registry, sweepId) : undefined;
  let plan: SweepPlan | undefined;
  return startAndFollowSweep(
    () => plan!,
    opts,
    registry,
    async (store, client) => {
      const resumed = await resumeSweepPlan(client, store, oldSweepId, sweepId, corrected);
      plan = resumed.plan;
      log(`sweep ${sweepId} reruns ${resumed.reran} of the ${plan.cells.length} cells of ${oldSweepId} (the rest completed there)`);
      return prepareSweep(store, plan, resumed.ended);
    },
  );
}

/** Starts a sweep, then (unless detached) runs a worker on every queue its cells use and reports the sweep. */
async function startAndFollowSweep(
  planOrLater: SweepPlan | (() => SweepPlan),
  opts: FollowOptions,
  registry: PluginRegistry,
  prepare: (store: ReturnType<typeof openArtifactStore>, client: Client) => Promise<SweepWorkflowStart>,
): Promise<number> {
  const temporal = await connectTemporal({ keepServer: opts.detach === true, log });
  let interrupted = false;
  try {
    const client = new Client({ connection: temporal.client, namespace: temporal.server.namespace });
    const store = openArtifactStore(paths().artifacts);
    const { workflowType, workflowId, ...options } = await prepare(store, client);
    const handle = await client.workflow.start<typeof sweepWorkflow>(workflowType, { workflowId, ...options });
    const link = runUiLinkOn(temporal.server, workflowId);
    if (link) log(`sweep ${workflowId} in the Temporal Web UI: ${link}`);
    if (opts.detach) {
      process.stdout.write(`${workflowId}\n`);
      return EXIT_OK;
    }
    const plan = typeof planOrLater === 'function' ? planOrLater() : planOrLater;
    const followed = await followHere(temporal, {
      kind: 'sweep',
      id: workflowId,
      queues: sweepTaskQueues(plan),
      registry,
      threads: opts.threads,
      device: opts.device,
      verbose: opts.verbose,
      report: () => reportSweep(handle, opts.out),
    });
    interrupted = followed.interrupted;
    return followed.code;
  } finally {
    await temporal.close(interrupted ? { keepServer: true } : undefined);
  }
}

/**
 * Shows the sweep's progress until it ends, then prints its groups (mean ± std per metric and
 * model) and writes sweep.json and sweep.csv. Exit code 3 when a cell did not complete.
 */
export async function reportSweep(handle: WorkflowHandle, outDir: string | undefined): Promise<number> {
  const stop = watchSweepProgress(handle, process.stderr);
  let outcome: SweepOutcome;
  try {
    outcome = (await handle.result()) as SweepOutcome;
  } finally {
    await stop();
  }
  const result = await openArtifactStore(paths().artifacts).getJson<SweepResult>(outcome.resultRef);
  process.stdout.write(`${formatGroups(result)}\n`);
  const written = writeSweepOutputs(resolve(outDir ?? runResultsDir(paths().runs, handle.workflowId)), result);
  log(`sweep results written to ${written.json} and ${written.csv}`);
  const unfinished = formatUnfinished(result);
  if (!unfinished.length) return EXIT_OK;
  for (const line of unfinished) log(line);
  log(`${unfinished.length} of ${result.cells.length} cells did not complete; \`retain resume ${handle.workflowId}\` reruns them`);
  return EXIT_RUN_FAILED;
}

/** One progress line, rewritten in place on a terminal; on a log, a new line when the counts change or every 10 s. */
function watchSweepProgress(handle: WorkflowHandle, out: NodeJS.WriteStream): () => Promise<void> {
  const tty = out.isTTY === true;
  let last = '';
  let lastCounts = '';
  let lastPrinted = 0;
  const stop = pollEvery(1000, async () => {
    const p: SweepProgress = await handle.query(sweepProgressQuery);
    last = formatSweepProgress(p);
    const counts = `${p.completed}/${p.failed}/${p.cancelled}/${p.running}/${p.phase}`;
    if (tty) out.write(`\r\x1b[2K${last}`);
    else if (counts !== lastCounts || Date.now() - lastPrinted >= 10_000) {
      out.write(`${last}\n`);
      lastPrinted = Date.now();
    }
    lastCounts = counts;
  });
  return async () => {
    await stop();
    if (tty && last) out.write('\n');
  };
}

/** `<old id>-resumed-<random>`, one suffix however often it is resumed, short enough for its cells' ids. */
function resumedSweepId(oldSweepId: string): string {
  const suffix = `-resumed-${randomBytes(2).toString('hex')}`;
  // Room for `-c<index>` (6 characters at most: SWEEP_MAX_CELLS has 4 digits) within the 200 of a run id.
  return `${oldSweepId.replace(/-resumed-[0-9a-f]{4}$/, '').slice(0, 200 - 7 - suffix.length)}${suffix}`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
