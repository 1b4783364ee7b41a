import { defaultPayloadConverter, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ExperimentInput } from '@retain/sdk';
import { DEFAULT_TASK_QUEUE } from '@retain/worker';
import { runTaskQueues } from '@retain/workflows';
import { describeQueues } from './commands/workers';
import { pollEvery } from './poll';

/**
 * Whether any worker serves a run. A run whose queues no worker polls waits on the server, which
 * is what `--detach` promises but looks like a hang to `retain result`, `cancel` or `status`:
 * these ask the server (DescribeTaskQueue) who polls the run's queues and say what to start.
 */

/**
 * A worker polls at least once a minute (a long poll lasts up to about 70 s, then it polls again),
 * while the server remembers a poller for minutes after it stopped: a poll older than this is a
 * worker gone.
 */
const LIVE_POLL_MS = 90_000;

/** The run's task queues: its workflow's, then those its spec sends activities to (execution.queues). */
export async function runQueues(client: Client, handle: WorkflowHandle): Promise<string[]> {
  const description = await handle.describe();
  const queues = [description.taskQueue];
  // The execution's first event holds its input, and with it the spec (continue-as-new carries it).
  const history = await client.workflowService
    .getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: handle.workflowId, runId: description.runId },
      maximumPageSize: 1,
    })
    .catch(() => undefined);
  const payload = history?.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (payload) {
    try {
      const input = defaultPayloadConverter.fromPayload<ExperimentInput>(payload);
      if (input?.spec?.execution) queues.push(...runTaskQueues(input.spec));
    } catch {
      // Not an experiment's input (another workflow type): its workflow queue is what we know.
    }
  }
  return [...new Set(queues)];
}

/** Of `queues`, those no worker has polled lately. */
export async function unservedQueues(client: Client, queues: string[], now = Date.now()): Promise<string[]> {
  const described = await describeQueues(client, queues);
  return described
    .filter(({ pollers }) => !pollers.some((p) => p.lastAccess === undefined || now - p.lastAccess.getTime() < LIVE_POLL_MS))
    .map(({ queue }) => queue);
}

/** "no worker polls queue 'x': start `npx retain worker --queue x`", the worker command that serves them all. */
export function noWorkerMessage(queues: string[]): string {
  const command =
    queues.length === 1 && queues[0] === DEFAULT_TASK_QUEUE ? 'npx retain worker' : `npx retain worker --queue ${queues.join(',')}`;
  const names = queues.map((q) => `'${q}'`).join(', ');
  return `no worker polls task queue${queues.length === 1 ? '' : 's'} ${names}: start \`${command}\``;
}

/**
 * While a command waits on a run: checks at once, then every `everyMs`, whether workers serve the
 * run's queues, and calls `say` once when none does (again only after a worker came and went).
 * Returns the function that stops watching. A failed check says nothing: the wait goes on.
 */
export function watchWorkers(client: Client, handle: WorkflowHandle, say: (line: string) => void, everyMs = 10_000): () => Promise<void> {
  let warned = false;
  let stopped = false;
  // A failed check is skipped: the run may have ended, or the server is busy; the wait reports what matters.
  const stop = pollEvery(everyMs, async () => {
    const queues = await runQueues(client, handle);
    const unserved = await unservedQueues(client, queues);
    if (unserved.length > 0 && !warned && !stopped) say(`run ${handle.workflowId} waits for a worker: ${noWorkerMessage(unserved)}`);
    warned = unserved.length > 0;
  });
  return async () => {
    stopped = true;
    await stop();
  };
}
