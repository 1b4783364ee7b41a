import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ExperimentInput, ExperimentResult, ExperimentSpec, PluginRegistry } from '@retain/sdk';
import { experimentResultOf, type Device } from '@retain/worker';
import { experimentWorkflow, runPriority, runSearchAttributes, runTaskQueues } from '@retain/workflows';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { connectTemporal, paths, withClient } from '../connection';
import { resumeInput } from '../control';
import { checkLocalWorker, followHere } from '../follow';
import { BadInputError, EXIT_OK, log, type ExitCode } from '../output';
import { watchProgress } from '../progress';
import { formatResult, writeResult } from '../report';
import { parseRunId, RUN_ID_MAX_LENGTH, runResultsDir } from '../run-id';
import { loadSpecFile, machineLimits } from '../spec-file';
import { isSweep } from '../sweep';
import { runUiLinkOn } from '../ui';
import { resultOrRunFailure } from '../run-failure';
import { watchWorkers } from '../worker-check';
import { pluginRegistry, pluginsOption } from './plugins';
import { reportSweep, resumeSweep } from './sweep';
import { deviceOption, threadsOption } from './worker';

interface FollowOptions {
  out?: string;
  detach?: boolean;
  /** onnxruntime threads per session of this process's worker (`retain worker --threads`). */
  threads?: number;
  /** The execution provider of this process's worker (`retain worker --device`). */
  device?: Device;
  verbose?: boolean;
}

const VERBOSE_HELP = "write the worker's own logs (the Temporal SDK's, with stack traces) to <state>/runs/<run id>/worker.log";

/** `run`, `resume`, `result`: start a run (or continue one), follow it, report its results. */
export function addRunCommands(program: Command, exit: ExitCode): void {
  program
    .command('run')
    .description('validate a spec, start its experiment and (unless --detach) run it here with live progress')
    .argument('<spec>', 'experiment spec (YAML)')
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .option('--detach', 'start the run and print its id; a separate `retain worker` runs it')
    .option('--id <runId>', 'run id (default: <spec name>-<time>-<random>, with -seed<N> after the name under --seed)', parseRunId)
    .option('--seed <n>', "the run's seed instead of the spec's (results.json's spec carries it)", parseSeed)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option('--verbose', VERBOSE_HELP)
    .addOption(pluginsOption())
    .action(async (specPath: string, opts: FollowOptions & { id?: string; seed?: number; plugins?: string[] }) => {
      // Validate before anything starts: a bad spec or plugin package costs no server, no worker, no run.
      const registry = await pluginRegistry(opts.plugins);
      await checkLocalWorker(opts);
      const file = loadSpecFile(specPath, registry);
      if (file.sweep) throw new BadInputError(`${specPath} has a sweep section: \`retain sweep ${specPath}\` runs its cells`);
      const spec = opts.seed === undefined ? file : registry.validateSpec({ ...file, seed: opts.seed }, machineLimits());
      const seedPart = opts.seed === undefined ? '' : `-seed${opts.seed}`;
      const runId = opts.id ?? `${spec.name}${seedPart}-${timestamp()}-${randomBytes(2).toString('hex')}`;
      exit.code = await startAndFollow(runId, opts, registry, () => Promise.resolve({ spec }));
    });

  program
    .command('result')
    .description(
      'wait for a run or sweep (e.g. one started with --detach), then print its results and write results.json (a sweep: sweep.json, sweep.csv)',
    )
    .argument('<runId>', 'the id `retain run` or `retain sweep` printed', parseRunId)
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .action(async (runId: string, opts: { out?: string }) => {
      await withClient(async (client) => {
        const handle = client.workflow.getHandle<typeof experimentWorkflow>(runId);
        if (await isSweep(client, runId)) {
          exit.code = await reportSweep(handle, opts.out);
          return;
        }
        // Waiting is what result does; a run no worker serves would wait forever without a word.
        const stopWatching = watchWorkers(client, handle, log);
        try {
          await report(handle, opts.out);
        } finally {
          await stopWatching();
        }
      });
    });

  program
    .command('resume')
    .description(
      'start a new run that continues a failed or cancelled run after its last completed task, reusing its artifacts; ' +
        "of a sweep, a new sweep that reruns only its failed and missing cells, keeping the completed ones' results",
    )
    .argument('<runId>', 'the failed or cancelled run, or the sweep', parseRunId)
    .option(
      '--spec <spec>',
      'a corrected spec for the remaining tasks (same benchmark, model, seed and quantizers; of a sweep, the same cells)',
    )
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .option('--detach', 'start the new run and print its id; a separate `retain worker` runs it')
    .option('--id <runId>', 'id of the new run (default: <old id>-resumed-<random>)', parseRunId)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option('--verbose', VERBOSE_HELP)
    .addOption(pluginsOption())
    .action(async (oldRunId: string, opts: FollowOptions & { spec?: string; id?: string; plugins?: string[] }) => {
      const registry = await pluginRegistry(opts.plugins);
      await checkLocalWorker(opts);
      // A sweep reruns its failed and missing cells (each failed run resumed after its last finished task).
      // Quiet: the resume itself connects and prints the connection line once.
      if (await withClient((client) => isSweep(client, oldRunId), { quiet: true })) {
        exit.code = await resumeSweep(oldRunId, opts, registry);
        return;
      }
      const corrected = opts.spec ? loadSpecFile(opts.spec, registry) : undefined;
      const runId = opts.id ?? resumedRunId(oldRunId);
      exit.code = await startAndFollow(runId, opts, registry, async (client) => {
        const input = await resumeInput(client, oldRunId, runId, corrected);
        // The spec the new run continues with (the old run's, or --spec) meets today's rules, memory bound included.
        registry.validateSpec(input.spec, machineLimits());
        const from = input.state?.nextTask ?? 0;
        log(`run ${runId} continues ${oldRunId} at task ${from + 1}${input.state ? ` of ${input.state.info.taskNames.length}` : ''}`);
        return input;
      });
    });
}

/** Starts a run with its search attributes, then (unless detached) runs a worker here and reports the results. */
async function startAndFollow(
  runId: string,
  opts: FollowOptions,
  registry: PluginRegistry,
  inputOf: (client: Client) => Promise<ExperimentInput>,
): Promise<number> {
  const temporal = await connectTemporal({ keepServer: opts.detach === true, log });
  let interrupted = false;
  try {
    const client = new Client({ connection: temporal.client, namespace: temporal.server.namespace });
    const input = await inputOf(client);
    const spec: ExperimentSpec = input.spec;
    const priority = runPriority(spec);
    const handle = await client.workflow.start(experimentWorkflow, {
      taskQueue: spec.execution.taskQueue,
      workflowId: runId,
      args: [input],
      typedSearchAttributes: runSearchAttributes(spec),
      ...(priority ? { priority } : {}),
    });
    const link = runUiLinkOn(temporal.server, runId);
    if (link) log(`run ${runId} in the Temporal Web UI: ${link}`);
    if (opts.detach) {
      process.stdout.write(`${runId}\n`);
      return EXIT_OK;
    }
    const followed = await followHere(temporal, {
      kind: 'run',
      id: runId,
      queues: runTaskQueues(spec),
      registry,
      threads: opts.threads,
      device: opts.device,
      verbose: opts.verbose,
      report: async () => {
        await report(handle, opts.out);
        return EXIT_OK;
      },
    });
    interrupted = followed.interrupted;
    return followed.code;
  } finally {
    await temporal.close(interrupted ? { keepServer: true } : undefined);
  }
}

/** Shows progress until the run ends, then prints its results and writes results.json. */
async function report(handle: WorkflowHandle<typeof experimentWorkflow>, outDir: string | undefined): Promise<void> {
  const stopProgress = watchProgress(handle, process.stderr);
  let result: ExperimentResult;
  try {
    // The workflow returns where its results are; the artifact store is this machine's.
    result = await experimentResultOf(await resultOrRunFailure(handle.workflowId, handle.result()), paths().artifacts);
  } finally {
    await stopProgress();
  }
  process.stdout.write(`${formatResult(result)}\n`);
  const out = resolve(outDir ?? runResultsDir(paths().runs, handle.workflowId), 'results.json');
  writeResult(out, result);
  log(`results written to ${out}`);
}

/** `<old id>-resumed-<random>`, one suffix however often it is resumed, within the run id's length. */
function resumedRunId(oldRunId: string): string {
  const suffix = `-resumed-${randomBytes(2).toString('hex')}`;
  return `${oldRunId.replace(/-resumed-[0-9a-f]{4}$/, '').slice(0, RUN_ID_MAX_LENGTH - suffix.length)}${suffix}`;
}

/** `--seed`: a spec seed (0 to 2^32 - 1). */
function parseSeed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2 ** 32 - 1) {
    throw new InvalidArgumentError(`--seed must be a whole number from 0 to 4294967295, got '${value}'`);
  }
  return n;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
