import { InvalidArgumentError, Option, type Command } from 'commander';
import { stopEmbeddedServer } from '@retain/infra';
import { createRetainWorkers, DEFAULT_TASK_QUEUE, DEVICE_NAMES, parseDevice, type Device } from '@retain/worker';
import { connectTemporal, paths } from '../connection';
import { checkDevice } from '../follow';
import { log, type ExitCode } from '../output';
import { sdkLogsOnStderr } from '../sdk-log';
import { uiBaseUrl } from '../ui';
import { pluginRegistry, pluginsOption } from './plugins';
import { uiPortOption } from './server';
import { serveGpus } from './worker-gpus';
import { addWorkersCommand, collectQueues } from './workers';

interface ServeOptions {
  /** `dev --ui`: the embedded server serves its Web UI. */
  ui?: boolean;
  uiPort?: number;
  /** Absent: the default queue; `--queue a,b --queue c` gives [a, b, c]. */
  queue?: string[];
  slots: number;
  device: Device;
  /** `worker --gpus`: one worker process per listed GPU instead of this one. */
  gpus?: string;
  threads?: number;
  plugins?: string[];
}

/** `worker`, `dev`, `workers`, `server-stop`: the processes that run experiments, who they are, and the embedded server. */
export function addWorkerCommands(program: Command, exit: ExitCode): void {
  const serving = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .addOption(queueOption())
      .addOption(slotsOption())
      .addOption(deviceOption().default('cpu'))
      .addOption(threadsOption())
      .addOption(pluginsOption());
  serving('worker', 'run a worker on one or more task queues until Ctrl-C')
    .addOption(
      new Option(
        '--gpus <which>',
        "one worker process per GPU: 'all' visible GPUs, or their indices (e.g. 0,2); each runs with --device cuda:N",
      ).conflicts('device'),
    )
    .action(async (opts: ServeOptions) => {
      if (opts.gpus === undefined) await serve({ ...opts, keepServer: true });
      else exit.code = await serveGpus(opts, opts.gpus);
    });
  // The embedded server stops with the worker.
  serving('dev', 'start the embedded Temporal server and a worker together, until Ctrl-C')
    .option('--ui', "serve Temporal's Web UI with the embedded server and print its URL")
    .addOption(uiPortOption())
    .action(async (opts: ServeOptions) => {
      await serve({ ...opts, keepServer: false });
    });

  addWorkersCommand(program);

  program
    .command('server-stop')
    .description('stop the embedded Temporal server left running by --detach or `retain worker`')
    .action(async () => {
      log((await stopEmbeddedServer()) ? 'embedded Temporal server stopped' : 'no embedded Temporal server was running');
    });
}

const queueOption = () =>
  new Option('--queue <names>', `task queues to poll, comma-separated or repeated (default: ${DEFAULT_TASK_QUEUE})`).argParser(
    collectQueues,
  );

function slotsOption(): Option {
  return new Option('--slots <n>', 'activities run at once on each queue; each runs its sessions with --threads threads')
    .argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--slots must be a positive integer, got '${v}'`);
      return n;
    })
    .default(1);
}

/** `--device`: the execution provider of a worker's sessions (`retain worker`, and the worker `run`/`sweep` run here). */
export function deviceOption(): Option {
  return new Option('--device <name>', `execution provider of the training and evaluation graphs: ${DEVICE_NAMES}`).argParser((v) => {
    try {
      return parseDevice(v, '--device');
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

export function threadsOption(): Option {
  return new Option('--threads <n>', 'onnxruntime intra-op threads per session (default 2)').argParser((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--threads must be a positive integer, got '${v}'`);
    return n;
  });
}

async function serve(opts: ServeOptions & { keepServer: boolean }): Promise<void> {
  // A long-lived worker's stderr is its log: the SDK's warnings (failed activities) belong there.
  sdkLogsOnStderr();
  // Before the server: a bad plugin package fails at once, naming its config.
  const registry = await pluginRegistry(opts.plugins);
  // Before the server too: a GPU that cannot start stops the worker at once, saying what to install.
  if (opts.device !== 'cpu') await checkDevice(opts.device);
  const temporal = await connectTemporal({ keepServer: opts.keepServer, log, ui: opts.ui ? { port: opts.uiPort } : undefined });
  try {
    const workers = await createRetainWorkers({
      connection: await temporal.worker(),
      namespace: temporal.server.namespace,
      taskQueues: opts.queue ?? [DEFAULT_TASK_QUEUE],
      maxConcurrentActivities: opts.slots,
      artifactsDir: paths().artifacts,
      device: opts.device,
      threads: opts.threads,
      bundleCacheDir: paths().cache,
      registry,
    });
    // One Ctrl-C stops every queue's worker; running activities are cancelled and retried elsewhere.
    const stop = () => workers.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const queues = workers.taskQueues.map((q) => `'${q}'`).join(', ');
    const slots = `${opts.slots} slot${opts.slots === 1 ? '' : 's'} per queue`;
    log(
      `worker polling task queue${workers.taskQueues.length === 1 ? '' : 's'} ${queues} on ${temporal.server.address} (device ${opts.device}, ${slots}) as ${workers.identity}; Ctrl-C to stop`,
    );
    const ui = uiBaseUrl(temporal.server);
    if (ui) log(`Temporal Web UI: ${ui}`);
    await workers.run();
  } finally {
    await temporal.close();
  }
}
