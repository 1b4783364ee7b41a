import { InvalidArgumentError, Option, type Command } from 'commander';
import { stopEmbeddedServer } from '@retain/infra';
import { createRetainWorker, DEFAULT_TASK_QUEUE, DEVICES, type Device } from '@retain/worker';
import { connectTemporal, paths } from '../connection';
import { log } from '../output';
import { pluginRegistry, pluginsOption } from './plugins';

interface ServeOptions {
  queue: string;
  device: Device;
  threads?: number;
  plugins?: string[];
}

/** `worker`, `dev`, `server-stop`: the processes that run experiments, and the embedded server. */
export function addWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker until Ctrl-C')
    .addOption(queueOption())
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(pluginsOption())
    .action(async (opts: ServeOptions) => {
      await serve({ ...opts, keepServer: true });
    });

  program
    .command('dev')
    .description('start the embedded Temporal server and a worker together, until Ctrl-C')
    .addOption(queueOption())
    .addOption(deviceOption())
    .addOption(threadsOption())
    .addOption(pluginsOption())
    .action(async (opts: ServeOptions) => {
      await serve({ ...opts, keepServer: false });
    });

  program
    .command('server-stop')
    .description('stop the embedded Temporal server left running by --detach or `retain worker`')
    .action(async () => {
      log((await stopEmbeddedServer()) ? 'embedded Temporal server stopped' : 'no embedded Temporal server was running');
    });
}

const queueOption = () => new Option('--queue <name>', 'task queue to poll').default(DEFAULT_TASK_QUEUE);

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

async function serve(opts: ServeOptions & { keepServer: boolean }): Promise<void> {
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
    log(`worker polling task queue '${opts.queue}' on ${temporal.server.address} (device ${opts.device}); Ctrl-C to stop`);
    await worker.run();
  } finally {
    await temporal.close();
  }
}
