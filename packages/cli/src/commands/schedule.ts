import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
} from '@temporalio/client';
import { openArtifactStore } from '@retain/artifacts';
import { isSweepSpec } from '@retain/sdk';
import { paths, withClient } from '../connection';
import { BadInputError, log } from '../output';
import { runIdProblem } from '../run-id';
import { scheduledStart, scheduledSweepStart } from '../schedule-action';
import { machineLimits, readSpecDocument } from '../spec-file';
import { sweepStartFromSpec } from '../sweep';
import { pluginRegistry, pluginsOption } from './plugins';
import { leftTable } from '../table';

/** The workflow types a Retain schedule starts: runs, and (once sweeps are merged) sweeps. */
const RETAIN_WORKFLOW_TYPES = new Set(['experimentWorkflow', 'sweepWorkflow']);
/** `-2026-12-05T03:00:00Z`: what Temporal appends to the schedule's workflow id at each firing. */
const FIRING_SUFFIX_LENGTH = 21;

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

/** `schedule <spec> --cron`, `schedule ls`, `schedule delete`: recurring runs through Temporal Schedules. */
export function addScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description("start a spec's run on a cron schedule (a Temporal Schedule); `schedule ls` and `schedule delete <id>` manage them")
    .argument('[spec]', 'experiment spec (YAML), validated now and frozen into the schedule')
    .option('--cron <expr>', 'when to start a run: a cron expression, e.g. "0 3 * * *" (03:00 UTC daily)')
    .option('--id <scheduleId>', 'schedule id; each run is <id>-<firing time> (default: the spec name)', parseScheduleId)
    .addOption(
      new Option('--overlap <policy>', 'when a run is still going at the next firing: skip it, buffer one, or start anyway')
        .choices(Object.keys(OVERLAP))
        .default('skip'),
    )
    .addOption(pluginsOption())
    .action(async (specPath: string | undefined, opts: { cron?: string; id?: string; overlap: string; plugins?: string[] }) => {
      if (!specPath) throw new BadInputError('name a spec: `retain schedule <spec.yaml> --cron "<expr>"` (or `retain schedule ls`)');
      if (!opts.cron) throw new BadInputError('--cron is missing: when to start a run, e.g. --cron "0 3 * * *" (03:00 UTC daily)');
      const cron = opts.cron;
      const registry = await pluginRegistry(opts.plugins);
      const raw = readSpecDocument(specPath);
      const sweep = isSweepSpec(raw);
      const spec = sweep ? undefined : registry.validateSpec(raw, machineLimits());
      const name = spec?.name ?? String((raw as { name?: unknown }).name);
      const scheduleId = opts.id ?? parseScheduleId(name);
      // A sweep's cells are validated and its plan stored now, once: every firing runs that plan.
      const action: ScheduleOptionsAction = spec
        ? scheduledStart(spec, scheduleId)
        : scheduledSweepStart(await sweepStartFromSpec(raw, registry, scheduleId, openArtifactStore(paths().artifacts)));
      await withClient(async (client) => {
        await client.schedule
          .create({
            scheduleId,
            spec: { cronExpressions: [cron] },
            action,
            policies: { overlap: OVERLAP[opts.overlap] },
            // Temporal keeps the cron as calendar specs; the memo keeps it as written, for `schedule ls`.
            memo: { retainSpec: name, retainCron: cron },
          })
          .catch((err: Error) => {
            if (err instanceof ScheduleAlreadyRunning) {
              throw new BadInputError(
                `schedule ${scheduleId} already exists; choose another --id, or \`retain schedule delete ${scheduleId}\` first`,
              );
            }
            if (/cron|invalid/i.test(err.message))
              throw new BadInputError(`--cron '${cron}' is not a schedule Temporal accepts: ${err.message}`);
            throw err;
          });
        const next = (await client.schedule.getHandle(scheduleId).describe()).info.nextActionTimes[0];
        log(
          `schedule ${scheduleId} starts ${sweep ? 'sweep ' : ''}${name} at '${cron}'${next ? ` (next: ${next.toISOString()})` : ''}; runs are ${scheduleId}-<time>`,
        );
      });
      process.stdout.write(`${scheduleId}\n`);
    });

  schedule
    .command('ls')
    .description("list Retain's schedules: id, spec, cron, next firing, last run")
    .action(async () => {
      process.stdout.write(`${await withClient(listing)}\n`);
    });

  schedule
    .command('delete')
    .description('delete a schedule (runs it started keep going)')
    .argument('<scheduleId>', 'the id `retain schedule` printed', parseScheduleId)
    .action(async (scheduleId: string) => {
      await withClient(async (client) =>
        client.schedule
          .getHandle(scheduleId)
          .delete()
          .catch((err: Error) => {
            if (err instanceof ScheduleNotFoundError) {
              throw new BadInputError(`no schedule ${scheduleId} on this Temporal server; \`retain schedule ls\` lists them`);
            }
            throw err;
          }),
      );
      log(`schedule ${scheduleId} deleted; runs it started are not affected`);
    });
}

/** Schedule ids follow run ids' rules, with room for the firing time Temporal appends. */
function parseScheduleId(value: string): string {
  const problem = runIdProblem(value) ?? (value.length + FIRING_SUFFIX_LENGTH > 200 ? `'${value}' is too long` : undefined);
  if (problem)
    throw new InvalidArgumentError(`${problem.replace('run id', 'schedule id')} (at most ${200 - FIRING_SUFFIX_LENGTH} characters)`);
  return value;
}

async function listing(client: Client): Promise<string> {
  const rows = [['schedule', 'spec', 'cron', 'next', 'last run']];
  for await (const s of client.schedule.list()) {
    if (!s.action || !RETAIN_WORKFLOW_TYPES.has(s.action.workflowType)) continue;
    const recent = s.info.recentActions.at(-1);
    rows.push([
      s.scheduleId,
      memoText(s.memo, 'retainSpec'),
      memoText(s.memo, 'retainCron'),
      s.info.nextActionTimes[0]?.toISOString() ?? '-',
      recent?.action.workflow.workflowId ?? '-',
    ]);
  }
  if (rows.length === 1) return 'no schedules; `retain schedule <spec.yaml> --cron "<expr>"` creates one';
  return leftTable(rows);
}

function memoText(memo: Record<string, unknown> | undefined, key: string): string {
  const value = memo?.[key];
  return typeof value === 'string' ? value : '-';
}
