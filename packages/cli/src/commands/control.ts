import type { Command } from 'commander';
import { pauseSignal, unpauseSignal } from '@retain/workflows';
import { withClient } from '../connection';
import { formatListing, listRuns, statusLine, type ListFilter } from '../control';
import { log } from '../output';
import { parseRunId } from '../run-id';

/** `pause`, `unpause`, `cancel`, `status`, `ls`: a run already on the server, by its id. */
export function addControlCommands(program: Command): void {
  program
    .command('pause')
    .description('pause a run: training stops within seconds, keeping a checkpoint; other phases stop before their next step')
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      await withClient((client) => client.workflow.getHandle(runId).signal(pauseSignal));
      log(`run ${runId} pausing; \`retain unpause ${runId}\` continues it`);
    });

  program
    .command('unpause')
    .description('continue a paused run from where it stopped')
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      await withClient((client) => client.workflow.getHandle(runId).signal(unpauseSignal));
      log(`run ${runId} continues`);
    });

  program
    .command('cancel')
    .description('cancel a run: training stops within seconds and saves a last checkpoint; `retain resume` continues it later')
    .argument('<runId>', 'the run', parseRunId)
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
    .argument('<runId>', 'the run', parseRunId)
    .action(async (runId: string) => {
      process.stdout.write(`${await withClient((client) => statusLine(client, runId))}\n`);
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
      process.stdout.write(`${formatListing(runs)}\n`);
    });
}
