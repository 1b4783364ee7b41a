import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { tsToDate } from '@temporalio/common';
import { DEFAULT_TASK_QUEUE, parseWorkerIdentity } from '@retain/worker';
import { withClient } from '../connection';

type DescribeRequest = Parameters<Client['workflowService']['describeTaskQueue']>[0];
// Temporal's TaskQueueType and TaskQueueKind wire values (@temporalio/proto's enums, which the CLI
// does not depend on directly); the request's own type checks them.
const TASK_TYPES: Array<{ tasks: PollerRow['tasks']; type: NonNullable<DescribeRequest['taskQueueType']> }> = [
  { tasks: 'workflow', type: 1 },
  { tasks: 'activity', type: 2 },
];
const NORMAL_QUEUE: NonNullable<NonNullable<DescribeRequest['taskQueue']>['kind']> = 1;

/** `--queue a,b` and repeated `--queue` (here and on `retain worker`): every name, in order, once. */
export function collectQueues(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((name) => name.trim());
  if (names.some((name) => name === ''))
    throw new InvalidArgumentError(`--queue takes task queue names separated by commas, got '${value}'`);
  return [...new Set([...(previous ?? []), ...names])];
}

/** One poller of one queue, as the server last saw it. */
export interface PollerRow {
  queue: string;
  tasks: 'workflow' | 'activity';
  identity: string;
  device?: string;
  build?: string;
  lastAccess?: Date;
}

export interface QueuePollers {
  queue: string;
  pollers: PollerRow[];
}

/** `retain workers`: who polls which task queue, from the server's own records (DescribeTaskQueue). */
export function addWorkersCommand(program: Command): void {
  program
    .command('workers')
    .description(`list the workers polling each task queue (${DEFAULT_TASK_QUEUE} and every --queue): identity, device, build, last poll`)
    .addOption(new Option('--queue <names>', 'more task queues to describe, comma-separated or repeated').argParser(collectQueues))
    .action(async (opts: { queue?: string[] }) => {
      const queues = [...new Set([DEFAULT_TASK_QUEUE, ...(opts.queue ?? [])])];
      const described = await withClient((client) => describeQueues(client, queues));
      process.stdout.write(`${formatWorkers(described, new Date())}\n`);
    });
}

/**
 * The pollers of each queue, workflow and activity tasks alike. The server keeps a poller for a
 * few minutes after its last poll, so a worker stopped moments ago is still listed: its last poll
 * time says so.
 */
export async function describeQueues(client: Client, queues: string[]): Promise<QueuePollers[]> {
  return Promise.all(
    queues.map(async (queue) => {
      const rows = await Promise.all(
        TASK_TYPES.map(async ({ tasks, type }) => {
          const { pollers } = await client.workflowService.describeTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name: queue, kind: NORMAL_QUEUE },
            taskQueueType: type,
          });
          return (pollers ?? []).map((p): PollerRow => {
            const identity = p.identity ?? '';
            const { device, build } = parseWorkerIdentity(identity);
            return { queue, tasks, identity, device, build, lastAccess: p.lastAccessTime ? tsToDate(p.lastAccessTime) : undefined };
          });
        }),
      );
      return { queue, pollers: rows.flat() };
    }),
  );
}

/** A table of every poller, then one line for each queue that no worker polls, saying how to start one. */
export function formatWorkers(queues: QueuePollers[], now: Date): string {
  const polled = queues.flatMap((q) => q.pollers);
  const lines: string[] = [];
  if (polled.length > 0) {
    const rows = [
      ['queue', 'tasks', 'device', 'build', 'last poll', 'identity'],
      ...polled.map((p) => [p.queue, p.tasks, p.device ?? '-', p.build ?? '-', lastPoll(p.lastAccess, now), p.identity]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    lines.push(
      ...rows.map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      ),
    );
  }
  for (const { queue, pollers } of queues) {
    if (pollers.length === 0) {
      lines.push(`no worker polls '${queue}': start \`npx retain worker --queue ${queue}\` (add \`--device cuda\` on a GPU machine)`);
    }
  }
  return lines.join('\n');
}

function lastPoll(at: Date | undefined, now: Date): string {
  if (!at) return '-';
  const seconds = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  return `${at.toISOString().replace(/\.\d+Z$/, 'Z')} (${seconds} s ago)`;
}
