import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { openArtifactStore } from '@retain/artifacts';
import { assertDeviceAvailable, configureSessions, type Device } from '@retain/engine';
import type { PluginRegistry } from '@retain/sdk';
import { createActivities } from './activities';
import { workerIdentity } from './identity';
import { defaultRegistry } from './plugins';
import { cachedWorkflowBundle } from './workflow-bundle';

export const DEFAULT_TASK_QUEUE = 'retain';

export interface RetainWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /**
   * Several task queues, one Temporal Worker each (see createRetainWorkers); overrides taskQueue.
   * Workers of one process share the connection, the activities and the workflow bundle.
   */
  taskQueues?: string[];
  /** The local artifact folder, used unless env RETAIN_ARTIFACTS names a shared store (s3://bucket/prefix). */
  artifactsDir: string;
  registry?: PluginRegistry;
  /**
   * Activities run at once, per task queue. Training saturates the cores through ORT's own
   * threads, so one at a time is the default on small machines; raise it on many-core workers
   * (each running activity's sessions use `threads` threads). Per queue rather than per process:
   * each queue's poller holds a slot while it waits, so one shared slot would starve the other queues.
   */
  maxConcurrentActivities?: number;
  /** Execution provider of every ORT session this worker starts (default cpu); checked at start. */
  device?: Device;
  /** ORT intra-op threads per session (default 2). */
  threads?: number;
  /** Pre-bundled workflow code (tests bundle once per file); default: bundle workflows/ on start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Keep the workflow bundle here and reuse it (see cachedWorkflowBundle), so a new worker starts
   * in seconds; only for built code (the .js workflows), not under ts-jest.
   */
  bundleCacheDir?: string;
  /**
   * Most time between two heartbeats sent to the server (default 1000 ms). Fault tests lower it,
   * so the checkpoint a short task heartbeats is on the server before the test kills the worker.
   */
  heartbeatThrottleMs?: number;
}

/** Where the workflow code lives: the TypeScript source under jest, the built file under node. */
export function workflowsPath(): string {
  return require.resolve('@retain/workflows');
}

/** A worker on one task queue (`taskQueue`, default `retain`). */
export async function createRetainWorker(options: RetainWorkerOptions): Promise<Worker> {
  const [worker] = (await createRetainWorkers({ ...options, taskQueues: [options.taskQueue ?? DEFAULT_TASK_QUEUE] })).workers;
  return worker;
}

/** The Temporal Workers of one process, one per task queue, run and stopped together. */
export interface RetainWorkers {
  workers: Worker[];
  taskQueues: string[];
  /** What every one of them tells the server it is (see workerIdentity). */
  identity: string;
  /** Polls every queue until shutdown() or a signal (the SDK's: SIGINT, SIGTERM...); one failing worker stops the rest. */
  run(): Promise<void>;
  /** Polls every queue until `until` settles, then stops them all; returns what `until` gave, or throws its error or a worker's. */
  runUntil<T>(until: Promise<T>): Promise<T>;
  /** Stops every worker still running (graceful: running activities are cancelled, their retries go elsewhere). */
  shutdown(): void;
}

/**
 * One Temporal Worker per task queue (`taskQueues`, else `taskQueue`, else `retain`), all on one
 * connection and sharing the activities and the workflow bundle: a process that trains on `gpu`
 * and finishes tasks on `cpu`, or `retain run` polling every queue its spec uses.
 */
export async function createRetainWorkers(options: RetainWorkerOptions): Promise<RetainWorkers> {
  const taskQueues = [...new Set(options.taskQueues ?? [options.taskQueue ?? DEFAULT_TASK_QUEUE])];
  if (taskQueues.length === 0) throw new Error('createRetainWorkers: taskQueues is empty; name at least one task queue');
  const slots = options.maxConcurrentActivities ?? 1;
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`maxConcurrentActivities must be a positive integer, got ${slots}`);
  // One device per worker process: plugins' sessions follow it without passing it around.
  const device = options.device ?? 'cpu';
  configureSessions({ device: options.device, threads: options.threads });
  if (device !== 'cpu') await assertDeviceAvailable(device);
  const activities = createActivities({
    registry: options.registry ?? defaultRegistry(),
    artifacts: openArtifactStore(options.artifactsDir),
  });
  const identity = workerIdentity(device);
  // Built code bundles once (bundleCacheDir) for every queue; each Worker would otherwise run webpack.
  const code = await workflowCode(options);
  const workers: Worker[] = [];
  try {
    for (const taskQueue of taskQueues) {
      workers.push(
        await Worker.create({
          connection: options.connection,
          namespace: options.namespace ?? 'default',
          taskQueue,
          identity,
          activities,
          ...code,
          maxConcurrentActivityTaskExecutions: slots,
          // One heartbeat a second reaches the server (keepAlive beats that often): the 4 s default
          // heartbeat timeout then tolerates three lost beats, and the CLI's progress stays live, at
          // negligible cost (the SDK would otherwise wait up to 80% of the heartbeat timeout between them).
          defaultHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 1000,
          maxHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 1000,
        }),
      );
    }
  } catch (err) {
    // A Worker that never ran holds no poller; nothing to stop. Say which queue failed.
    throw new Error(`cannot start a worker on task queue '${taskQueues[workers.length]}': ${(err as Error).message}`, { cause: err });
  }
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  // A worker that fails stops the others: a process polling half its queues would look healthy in
  // `retain workers` while the runs waiting on its other queues starve.
  const together = async (runs: Array<Promise<unknown>>) => {
    for (const running of runs) running.catch(shutdown);
    const failed = (await Promise.allSettled(runs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return {
    workers,
    taskQueues,
    identity,
    shutdown,
    run: () => together(workers.map((worker) => worker.run())),
    runUntil: async (until) => {
      await together(workers.map((worker) => worker.runUntil(until)));
      return until;
    },
  };
}

async function workflowCode(options: RetainWorkerOptions): Promise<Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>> {
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  const path = workflowsPath();
  if (options.bundleCacheDir && path.endsWith('.js')) return { workflowBundle: await cachedWorkflowBundle(path, options.bundleCacheDir) };
  return { workflowsPath: path };
}
