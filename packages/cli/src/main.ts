import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { SpecErrors, type ExperimentInput, type ExperimentResult, type ExperimentSpec, type PluginRegistry } from '@retain/sdk';
import {
  createRetainWorker,
  DEFAULT_TASK_QUEUE,
  DEVICES,
  experimentResultOf,
  PluginPackageError,
  resolvePlugins,
  type Device,
} from '@retain/worker';
import { stopEmbeddedServer } from '@retain/infra';
import { experimentWorkflow, pauseSignal, runSearchAttributes, unpauseSignal } from '@retain/workflows';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { connectTemporal, paths } from './connection';
import { loadSpecFile } from './spec-file';
import { watchProgress } from './progress';
import { formatResult, writeResult } from './report';
import { formatListing, listRuns, resumeInput, statusLine, type ListFilter } from './control';

/** Exit codes: 0 done, 1 the run failed, 2 bad input (nothing was started), 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
/** Ctrl-C: the run lives on in Temporal; 130 is the shell's code for SIGINT. */
export const EXIT_INTERRUPTED = 130;

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The worker's own logs (state changes, webpack's bundle report) drown the progress line; show
 * warnings and errors only unless RETAIN_LOG_LEVEL asks for more. Must run before any connection.
 */
function quietTemporalLogs(): void {
  const level = (process.env.RETAIN_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  // shutdownSignals: Retain decides what Ctrl-C means (keep the run, stop the worker), not the SDK.
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  quietTemporalLogs();
  const program = new Command('retain')
    .description('Continual learning on quantized models, run as durable Temporal workflows.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('run')
    .description('validate a spec, start its experiment and (unless --detach) run it here with live progress')
    .argument('<spec>', 'experiment spec (YAML)')
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .option('--detach', 'start the run and print its id; a separate `retain worker` runs it')
    .option('--id <runId>', 'run id (default: <spec name>-<time>-<random>)')
    .addOption(pluginsOption())
    .action(async (specPath: string, opts: { out?: string; detach?: boolean; id?: string; plugins?: string[] }) => {
      exitCode = await runCommand(specPath, opts);
    });

  program
    .command('result')
    .description('wait for a run (e.g. one started with --detach), then print its results and write results.json')
    .argument('<runId>', 'the id `retain run` printed')
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .action(async (runId: string, opts: { out?: string }) => {
      const temporal = await connectTemporal({ keepServer: true, log });
      try {
        const client = new Client({ connection: temporal.client, namespace: temporal.server.namespace });
        await report(client.workflow.getHandle(runId), opts.out);
      } finally {
        await temporal.close();
      }
    });

  program
    .command('resume')
    .description('start a new run that continues a failed or cancelled run after its last completed task, reusing its artifacts')
    .argument('<runId>', 'the failed or cancelled run')
    .option('--spec <spec>', 'a corrected spec for the remaining tasks (same benchmark, model, seed and quantizers)')
    .option('--out <dir>', 'where to write results.json (default: <state>/runs/<run id>)')
    .option('--detach', 'start the new run and print its id; a separate `retain worker` runs it')
    .option('--id <runId>', 'id of the new run (default: <old id>-resumed-<random>)')
    .addOption(pluginsOption())
    .action(async (oldRunId: string, opts: { spec?: string; out?: string; detach?: boolean; id?: string; plugins?: string[] }) => {
      const registry = await pluginRegistry(opts.plugins);
      const corrected = opts.spec ? loadSpecFile(opts.spec, registry) : undefined;
      const runId = opts.id ?? `${oldRunId.replace(/-resumed-[0-9a-f]{4}$/, '')}-resumed-${randomBytes(2).toString('hex')}`;
      exitCode = await startAndFollow(runId, opts, registry, async (client) => {
        const input = await resumeInput(client, oldRunId, runId, corrected);
        const from = input.state?.nextTask ?? 0;
        log(`run ${runId} continues ${oldRunId} at task ${from + 1}${input.state ? ` of ${input.state.info.taskNames.length}` : ''}`);
        return input;
      });
    });

  program
    .command('pause')
    .description('pause a run: training stops within seconds, keeping a checkpoint; other phases stop before their next step')
    .argument('<runId>')
    .action(async (runId: string) => {
      await withClient((client) => client.workflow.getHandle(runId).signal(pauseSignal));
      log(`run ${runId} pausing; \`retain unpause ${runId}\` continues it`);
    });

  program
    .command('unpause')
    .description('continue a paused run from where it stopped')
    .argument('<runId>')
    .action(async (runId: string) => {
      await withClient((client) => client.workflow.getHandle(runId).signal(unpauseSignal));
      log(`run ${runId} continues`);
    });

  program
    .command('cancel')
    .description('cancel a run: training stops within seconds and saves a last checkpoint; `retain resume` continues it later')
    .argument('<runId>')
    .action(async (runId: string) => {
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(runId);
        await handle.cancel();
        // Wait for it to stop, so the last checkpoint exists when this returns.
        await handle.result().catch(() => undefined);
      });
      log(`run ${runId} cancelled; \`retain resume ${runId}\` starts a run that continues it`);
    });

  program
    .command('status')
    .description("a run's status: task, phase, step, loss, ETA")
    .argument('<runId>')
    .action(async (runId: string) => {
      process.stdout.write(`${await withClient((client) => statusLine(client, runId))}
`);
    });

  program
    .command('ls')
    .description("list runs through Temporal's visibility, filtered by spec name, method, quantizer id or status")
    .option('--spec <name>', 'spec name')
    .option('--method <name>', 'method plugin')
    .option('--quantizer <id>', 'quantizer id, e.g. rtn-int8')
    .option('--status <status>', 'running, paused, completed, failed or cancelled')
    .action(async (filter: ListFilter) => {
      const runs = await withClient((client) => listRuns(client, filter));
      process.stdout.write(`${formatListing(runs)}
`);
    });

  program
    .command('validate')
    .description('check a spec without running it')
    .argument('<spec>', 'experiment spec (YAML)')
    .addOption(pluginsOption())
    .action(async (specPath: string, opts: { plugins?: string[] }) => {
      const spec = loadSpecFile(specPath, await pluginRegistry(opts.plugins));
      process.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
    });

  program
    .command('worker')
    .description('run a worker until Ctrl-C')
    .addOption(new Option('--queue <name>', 'task queue to poll').default(DEFAULT_TASK_QUEUE))
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(pluginsOption())
    .action(async (opts: { queue: string; device: Device; threads?: number; plugins?: string[] }) => {
      await serve({ ...opts, keepServer: true });
    });

  program
    .command('dev')
    .description('start the embedded Temporal server and a worker together, until Ctrl-C')
    .addOption(new Option('--queue <name>', 'task queue to poll').default(DEFAULT_TASK_QUEUE))
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(pluginsOption())
    .action(async (opts: { queue: string; device: Device; threads?: number; plugins?: string[] }) => {
      await serve({ ...opts, keepServer: false });
    });

  program
    .command('server-stop')
    .description('stop the embedded Temporal server left running by --detach or `retain worker`')
    .action(async () => {
      log((await stopEmbeddedServer()) ? 'embedded Temporal server stopped' : 'no embedded Temporal server was running');
    });

  program
    .command('plugins')
    .description("list the plugins this installation knows: the builtins and those of the project's plugin packages")
    .addOption(pluginsOption())
    .action(async (opts: { plugins?: string[] }) => {
      for (const { plugin: p, from } of (await resolvePlugins({ packages: opts.plugins })).plugins) {
        const source = from === 'builtin' ? 'builtin' : `${from.package} (${from.source})`;
        process.stdout.write(`${p.kind.padEnd(10)} ${p.name.padEnd(16)} ${source.padEnd(12)} ${p.description}\n`);
      }
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    if (err instanceof SpecErrors) {
      log(err.message);
      return EXIT_BAD_INPUT;
    }
    if (err instanceof PluginPackageError) {
      log(`retain: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    log(`retain: ${(err as Error).message}`);
    return EXIT_FAILED;
  }
  return exitCode;
}

async function runCommand(specPath: string, opts: { out?: string; detach?: boolean; id?: string; plugins?: string[] }): Promise<number> {
  // Validate before anything starts: a bad spec or plugin package costs no server, no worker, no run.
  const registry = await pluginRegistry(opts.plugins);
  const spec = loadSpecFile(specPath, registry);
  const runId = opts.id ?? `${spec.name}-${timestamp()}-${randomBytes(2).toString('hex')}`;
  return startAndFollow(runId, opts, registry, () => Promise.resolve({ spec }));
}

/**
 * The builtins plus the plugin packages of the project in the current directory (package.json
 * `retain.plugins`, retain.config.json) and of `--plugins`: the same list validates specs and
 * runs them in this process's worker.
 */
async function pluginRegistry(packages: string[] | undefined): Promise<PluginRegistry> {
  return (await resolvePlugins({ packages })).registry;
}

function pluginsOption(): Option {
  return new Option(
    '--plugins <packages>',
    'plugin packages to load besides those in package.json "retain.plugins" and retain.config.json (comma-separated)',
  ).argParser((v: string, previous: string[] | undefined) => [
    ...(previous ?? []),
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ]);
}

/** Runs `fn` with a client of the embedded server (or TEMPORAL_ADDRESS), leaving the server running. */
async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const temporal = await connectTemporal({ keepServer: true, log });
  try {
    return await fn(new Client({ connection: temporal.client, namespace: temporal.server.namespace }));
  } finally {
    await temporal.close();
  }
}

/** Starts a run with its search attributes, then (unless detached) runs a worker here and reports the results. */
async function startAndFollow(
  runId: string,
  opts: { out?: string; detach?: boolean },
  registry: PluginRegistry,
  inputOf: (client: Client) => Promise<ExperimentInput>,
): Promise<number> {
  const temporal = await connectTemporal({ keepServer: opts.detach === true, log });
  let interrupted = false;
  try {
    const client = new Client({ connection: temporal.client, namespace: temporal.server.namespace });
    const input = await inputOf(client);
    const spec: ExperimentSpec = input.spec;
    const handle = await client.workflow.start(experimentWorkflow, {
      taskQueue: spec.execution.taskQueue,
      workflowId: runId,
      args: [input],
      typedSearchAttributes: runSearchAttributes(spec),
    });
    if (opts.detach) {
      process.stdout.write(`${runId}\n`);
      return EXIT_OK;
    }
    // Ctrl-C stops this worker, not the run: the workflow waits on the server for the next worker.
    let onInterrupt = () => {};
    const interruption = new Promise<void>((resolve) => (onInterrupt = resolve));
    const interrupt = () => {
      interrupted = true;
      onInterrupt();
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    log(`run ${runId} started on ${temporal.server.address} (task queue ${spec.execution.taskQueue})`);
    try {
      const worker = await createRetainWorker({
        connection: await temporal.worker(),
        namespace: temporal.server.namespace,
        taskQueue: spec.execution.taskQueue,
        artifactsDir: paths().artifacts,
        bundleCacheDir: paths().cache,
        registry,
      });
      const reported = report(handle, opts.out);
      // runUntil shuts the worker down when the run is reported or Ctrl-C comes, whichever is first.
      await worker.runUntil(Promise.race([reported, interruption]));
      if (interrupted) reported.catch(() => undefined); // its wait ends when the connection closes
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
    if (interrupted) {
      log(`\ninterrupted: run ${runId} is kept on the Temporal server at ${temporal.server.address}.`);
      log(`continue it with \`npx retain worker\`, and wait for its results with \`npx retain result ${runId}\`.`);
      return EXIT_INTERRUPTED;
    }
    return EXIT_OK;
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
    result = await experimentResultOf(await handle.result(), paths().artifacts);
  } finally {
    stopProgress();
  }
  process.stdout.write(`${formatResult(result)}\n`);
  const out = resolve(outDir ?? join(paths().runs, handle.workflowId), 'results.json');
  writeResult(out, result);
  log(`results written to ${out}`);
}

function deviceOption(): Option {
  return new Option('--device <name>', 'execution provider of the training and evaluation graphs').choices(DEVICES).default('cpu');
}

function threadsOption(): Option {
  return new Option('--threads <n>', 'onnxruntime intra-op threads per session (default 2)').argParser((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--threads must be a positive integer, got '${v}'`);
    return n;
  });
}

async function serve(opts: { queue: string; keepServer: boolean; device?: Device; threads?: number; plugins?: string[] }): Promise<void> {
  // Before the server: a bad plugin package fails at once, naming its config.
  const registry = await pluginRegistry(opts.plugins);
  const temporal = await connectTemporal({ keepServer: opts.keepServer, log });
  try {
    const worker = await createRetainWorker({
      connection: await temporal.worker(),
      namespace: temporal.server.namespace,
      taskQueue: opts.queue,
      artifactsDir: paths().artifacts,
      device: opts.device,
      threads: opts.threads,
      bundleCacheDir: paths().cache,
      registry,
    });
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    log(`worker polling task queue '${opts.queue}' on ${temporal.server.address} (device ${opts.device ?? 'cpu'}); Ctrl-C to stop`);
    await worker.run();
  } finally {
    await temporal.close();
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
