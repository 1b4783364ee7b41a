import { join } from 'node:path';
import type { PluginRegistry } from '@retain/sdk';
import { assertDeviceAvailable, createRetainWorkers, DEFAULT_TASK_QUEUE, type Device } from '@retain/worker';
import { paths, type Temporal } from './connection';
import { BadInputError, EXIT_INTERRUPTED, log } from './output';
import { runResultsDir } from './run-id';
import { quietSdkLogs } from './sdk-log';

/** What `run`, `resume` and `sweep` run here once their workflow has started. */
export interface FollowHere {
  kind: 'run' | 'sweep';
  id: string;
  /** Every queue the workflow routes work to, or it would wait for other workers. */
  queues: string[];
  registry: PluginRegistry;
  /** onnxruntime threads per session of this worker (`--threads`). */
  threads?: number;
  /** Its execution provider (`--device`, default cpu). */
  device?: Device;
  /** `--verbose`: the SDK's logs go to `<state>/runs/<id>/worker.log`. */
  verbose?: boolean;
  /** Waits for the workflow, prints and writes its results; its exit code. */
  report: () => Promise<number>;
}

/**
 * Runs a worker here on the workflow's queues until its report is done or Ctrl-C comes. Ctrl-C
 * stops this worker, not the workflow: it waits on the server for the next worker, and the message
 * says how to continue it. `interrupted`: keep a server started here running.
 */
export async function followHere(temporal: Temporal, f: FollowHere): Promise<{ code: number; interrupted: boolean }> {
  let interrupted = false;
  let onInterrupt = () => {};
  const interruption = new Promise<void>((done) => (onInterrupt = done));
  const interrupt = () => {
    interrupted = true;
    onInterrupt();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const { queues } = f;
  log(`${f.kind} ${f.id} started on ${temporal.server.address} (task queue${queues.length === 1 ? '' : 's'} ${queues.join(', ')})`);
  // A failure is reported once, in the CLI's words; the SDK's logs (stack traces) go to a file with --verbose.
  const logFile = quietSdkLogs(f.verbose ? join(runResultsDir(paths().runs, f.id), 'worker.log') : undefined);
  if (logFile) log(`worker log: ${logFile}`);
  let code = 0;
  try {
    const worker = await createRetainWorkers({
      connection: await temporal.worker(),
      namespace: temporal.server.namespace,
      taskQueues: queues,
      threads: f.threads,
      device: f.device,
      artifactsDir: paths().artifacts,
      bundleCacheDir: paths().cache,
      registry: f.registry,
    });
    const reported = f.report().then((c) => (code = c));
    // runUntil shuts the worker down when the report is done or Ctrl-C comes, whichever is first.
    await worker.runUntil(Promise.race([reported, interruption]));
    if (interrupted) reported.catch(() => undefined); // its wait ends when the connection closes
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (!interrupted) return { code, interrupted };
  log(`\ninterrupted: ${f.kind} ${f.id} is kept on the Temporal server at ${temporal.server.address}.`);
  const command =
    queues.length === 1 && queues[0] === DEFAULT_TASK_QUEUE ? 'npx retain worker' : `npx retain worker --queue ${queues.join(',')}`;
  log(`continue it with \`${command}\`, and wait for its results with \`npx retain result ${f.id}\`.`);
  return { code: EXIT_INTERRUPTED, interrupted };
}

/**
 * `--threads` and `--device` set the worker a command runs here; a detached start runs none. The
 * device is tried before any server or run: one that cannot start costs nothing.
 */
export async function checkLocalWorker(opts: { detach?: boolean; threads?: number; device?: Device }): Promise<void> {
  if (opts.detach && opts.threads !== undefined) {
    throw new BadInputError('--threads sets the worker this command runs; with --detach, start `retain worker --threads N` instead');
  }
  if (opts.detach && opts.device !== undefined) {
    throw new BadInputError('--device sets the worker this command runs; with --detach, start `retain worker --device <name>` instead');
  }
  if (opts.device !== undefined && opts.device !== 'cpu') await checkDevice(opts.device);
}

/** A device that cannot start is the user's to fix (install, driver), not a bug: exit 2 with what to do. */
export async function checkDevice(device: Device): Promise<void> {
  try {
    await assertDeviceAvailable(device);
  } catch (err) {
    throw new BadInputError((err as Error).message);
  }
}
