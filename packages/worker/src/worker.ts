import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { openArtifactStore } from '@retain/artifacts';
import { assertDeviceAvailable, configureSessions, type Device } from '@retain/engine';
import type { PluginRegistry } from '@retain/sdk';
import { createActivities } from './activities';
import { defaultRegistry } from './plugins';
import { cachedWorkflowBundle } from './workflow-bundle';

export const DEFAULT_TASK_QUEUE = 'retain';

export interface RetainWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** The local artifact folder, used unless env RETAIN_ARTIFACTS names a shared store (s3://bucket/prefix). */
  artifactsDir: string;
  registry?: PluginRegistry;
  /**
   * Activities run at once. Training saturates the cores through ORT's own threads, so one at a
   * time is the default on small machines; raise it on many-core workers.
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

export async function createRetainWorker(options: RetainWorkerOptions): Promise<Worker> {
  // One device per worker process: plugins' sessions follow it without passing it around.
  configureSessions({ device: options.device, threads: options.threads });
  if (options.device && options.device !== 'cpu') await assertDeviceAvailable(options.device);
  const activities = createActivities({
    registry: options.registry ?? defaultRegistry(),
    artifacts: openArtifactStore(options.artifactsDir),
  });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities,
    ...(await workflowCode(options)),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 1,
    // One heartbeat a second reaches the server (keepAlive beats that often): the 4 s default
    // heartbeat timeout then tolerates three lost beats, and the CLI's progress stays live, at
    // negligible cost (the SDK would otherwise wait up to 80% of the heartbeat timeout between them).
    defaultHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 1000,
    maxHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 1000,
  });
}

async function workflowCode(options: RetainWorkerOptions): Promise<Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>> {
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  const path = workflowsPath();
  if (options.bundleCacheDir && path.endsWith('.js')) return { workflowBundle: await cachedWorkflowBundle(path, options.bundleCacheDir) };
  return { workflowsPath: path };
}
