import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import type { RunPhase, TrainHeartbeat } from '@retain/sdk';
import { phaseOf, snapshot } from '@retain/cli';
import { CLI } from '../cli-process';

export { CLI, retainCli } from '../cli-process';

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the worker polls its queue. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

/** A real `retain worker` process (the built CLI) on `queue`, with its own state dir (artifacts). */
export function startWorker(queue: string, home: string): WorkerProcess {
  return follow(spawn(process.execPath, [CLI, 'worker', '--queue', queue], { env: { ...process.env, RETAIN_HOME: home } }));
}

function follow(child: ChildProcess): WorkerProcess {
  let output = '';
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const ready = new Promise<void>((done, fail) => {
    const onData = (d: Buffer) => {
      output += d;
      if (/worker polling/.test(output)) done();
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', (d: Buffer) => (output += d));
    void exited.then((code) => fail(new Error(`worker exited with ${code} before polling:\n${output}`)));
  });
  return { child, ready, exited, output: () => output };
}

const WORKER_MAIN = resolve(__dirname, '../../dist/fault/worker-main.js');

/**
 * A worker process with the built-in plugins and the test's buggy method (test/dist, built by
 * `npm run build`), on `address` (default: the test server), with artifacts under `artifactsDir`.
 * `heartbeatMs`: most time between heartbeats reaching the server (default: the product's 1 s);
 * fault tests use 100 ms, so they see a short task's first checkpoint with most of its steps to go.
 */
export function startTestWorker(queue: string, artifactsDir: string, opts: { address?: string; heartbeatMs?: number } = {}): WorkerProcess {
  const args = [WORKER_MAIN, queue, artifactsDir, ...(opts.heartbeatMs ? [String(opts.heartbeatMs)] : [])];
  return follow(
    spawn(process.execPath, args, { env: { ...process.env, TEMPORAL_ADDRESS: opts.address ?? process.env.TEMPORAL_ADDRESS! } }),
  );
}

/** SIGKILL: no shutdown, no last heartbeat, exactly what a crashed machine does. */
export async function kill9(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

/** The pending activities of a run and their last heartbeat details. */
export async function pendingActivities(handle: WorkflowHandle): Promise<Array<{ type: string; attempt: number; details?: unknown }>> {
  const description = await handle.describe();
  return (description.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    return {
      type: a.activityType?.name ?? '',
      attempt: a.attempt ?? 1,
      details: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
    };
  });
}

/** Polls until `predicate` holds for some pending activity; observing real progress, not guessing with sleeps. */
export async function waitForActivity(
  handle: WorkflowHandle,
  predicate: (a: { type: string; attempt: number; details?: unknown }) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<{ type: string; attempt: number; details?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown[] = [];
  while (Date.now() < deadline) {
    const pending = await pendingActivities(handle);
    const found = pending.find(predicate);
    if (found) return found;
    last = pending;
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = (await handle.describe()).status.name;
  throw new Error(`timed out waiting for ${what}; run ${status}, pending activities: ${JSON.stringify(last)}`);
}

/** A trainTask of `taskIndex` whose last heartbeat holds a checkpoint at `minStep` or later. */
export const trainingCheckpointed =
  (taskIndex: number, minStep: number) =>
  (a: { type: string; details?: unknown }): boolean => {
    const d = a.details as TrainHeartbeat | undefined;
    return a.type === 'trainTask' && d?.taskIndex === taskIndex && (d.checkpoint?.step ?? 0) >= minStep;
  };

/** Polls the run's progress (its query and finishTask's heartbeat, as `retain status`) until it reports `phase` for `task`. */
export async function waitForPhase(handle: WorkflowHandle, task: number, phase: RunPhase, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await snapshot(handle);
    if (s.run?.task === task && phaseOf(s) === phase) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for task ${task} to be ${phase}`);
}
