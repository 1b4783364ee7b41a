import { InvalidArgumentError, Option, type Command } from 'commander';
import { pauseSignal, unpauseSignal } from '@retain/workflows';
import { withClient } from '../connection';
import { formatListing, listingJson, listRuns, RUN_STATUSES, statusLine, type ListFilter } from '../control';
import { withListedMetrics } from '../listing-metrics';
import { runningRun } from '../lifecycle';
import { log } from '../output';
import { noWorkerMessage, runQueues, unservedQueues } from '../worker-check';
import { parseRunId } from '../run-id';
import { runUiLinkOn } from '../ui';

/** `pause`, `unpause`, `cancel`, `status`, `ls`: a run already on the server, by its id. */
export function addControlCommands(program: Command): void {
  program
    .command('pause')
    .description('pause a run: training stops within seconds, keeping a checkpoint; other phases stop before their next step')
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      await withClient(async (client) => (await runningRun(client, runId, 'pause')).signal(pauseSignal));
      log(`run ${runId} pausing; \`retain unpause ${runId}\` continues it`);
    });

  program
    .command('unpause')
    .description('continue a paused run from where it stopped')
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      await withClient(async (client) => (await runningRun(client, runId, 'unpause')).signal(unpauseSignal));
      log(`run ${runId} continues`);
    });

  program
    .command('cancel')
    .description('cancel a run: training stops within seconds and saves a last checkpoint; `retain resume` continues it later')
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      const stopped = await withClient(async (client) => {
        const handle = await runningRun(client, runId, 'cancel');
        await handle.cancel();
        // The cancellation is the workflow's to carry out: with no worker, waiting would hang.
        const queues = await runQueues(client, handle);
        const unserved = await unservedQueues(client, queues);
        if (unserved.includes(queues[0])) {
          log(`run ${runId}: cancel requested; it stops when a worker picks it up (${noWorkerMessage(unserved)})`);
          return false;
        }
        // Wait for it to stop, so the last checkpoint exists when this returns.
        await handle.result().catch(() => undefined);
        return true;
      });
      if (stopped) log(`run ${runId} cancelled; \`retain resume ${runId}\` starts a run that continues it`);
    });

  program
    .command('status')
    .description("a run's status: task, phase, step, loss, ETA; and its page in Temporal's Web UI when one is known")
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      const [{ line, failure }, link] = await withClient(
        async (client, server) => [await statusLine(client, runId), runUiLinkOn(server, runId)] as const,
      );
      process.stdout.write(`${line}\n${link ? `web UI: ${link}\n` : ''}`);
      if (failure) throw failure; // its cause, as the last line (exit code 3)
    });

  program
    .command('ls')
    .description(
      "list runs through Temporal's visibility, filtered by spec name, method, quantizer id or status; " +
        'completed runs show ACC and BWT per model (read from their results)',
    )
    .option('--spec <name>', 'spec name', listValue('--spec'))
    .option('--method <name>', 'method plugin', listValue('--method'))
    .option('--quantizer <id>', 'quantizer id, e.g. rtn-int8', listValue('--quantizer'))
    .addOption(new Option('--status <status>', 'the run status').choices(RUN_STATUSES))
    .option('--json', 'print the list as a JSON array')
    .action(async (opts: ListFilter & { json?: boolean }) => {
      const { json, ...filter } = opts;
      const runs = await withClient(async (client) => withListedMetrics(client, await listRuns(client, filter)));
      process.stdout.write(json ? `${JSON.stringify(listingJson(runs), null, 2)}\n` : `${formatListing(runs)}\n`);
    });
}

/**
 * Spec names, method names and quantizer ids are letters, digits, ".", "_" and "-" (the spec
 * schema's rules), so a value with anything else matches no run; refusing it also keeps quotes
 * and backslashes out of the visibility query.
 */
function listValue(flag: string): (value: string) => string {
  return (value) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value)) {
      throw new InvalidArgumentError(`${flag} '${value}' matches no run: names and ids are letters, digits, ".", "_" or "-"`);
    }
    return value;
  };
}
