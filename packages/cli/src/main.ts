import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConnectionSettingsError } from '@retain/infra';
import { SpecErrors } from '@retain/sdk';
import { PluginPackageError, retainBuild } from '@retain/worker';
import { WorkflowNotFoundError } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { addArtifactCommands } from './commands/artifacts';
import { addCompareCommand } from './commands/compare';
import { addControlCommands } from './commands/control';
import { addExportMetricsCommand } from './commands/export-metrics';
import { addInitCommand } from './commands/init';
import { addSpecCommands } from './commands/plugins';
import { addReportCommand } from './commands/report';
import { addRunCommands } from './commands/run';
import { addSweepCommand } from './commands/sweep';
import { addScheduleCommands } from './commands/schedule';
import { addSchemaCommand } from './commands/schema';
import { addServerCommand } from './commands/server';
import { addWorkerCommands } from './commands/worker';
import { noRunMessage } from './lifecycle';
import { BadInputError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, log, type ExitCode } from './output';

export { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from './output';

let runtimeInstalled = false;

/**
 * The worker's own logs (state changes, webpack's bundle report) drown the progress line; show
 * warnings and errors only unless RETAIN_LOG_LEVEL asks for more. Must run before any connection.
 */
function quietTemporalLogs(): void {
  // Once per process: tests call main() many times in one process, and Runtime.install throws on a second call.
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.RETAIN_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  // shutdownSignals: Retain decides what Ctrl-C means (keep the run, stop the worker), not the SDK.
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
}

/** The `retain` command: runs argv and returns the process's exit code (see output.ts). */
export async function main(argv: string[]): Promise<number> {
  quietTemporalLogs();
  const exit: ExitCode = { code: EXIT_OK };
  const program = new Command('retain')
    .description('Continual learning on quantized models, run as durable Temporal workflows.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    // Not commander's .version(string): the build asks git, which only --version should pay for.
    .option('-V, --version', 'print the version and the build (git commit, or the package version)')
    .on('option:version', () => {
      process.stdout.write(`${versionLine()}\n`);
      throw new CommanderError(EXIT_OK, 'commander.version', versionLine());
    });
  addRunCommands(program, exit);
  addSweepCommand(program, exit);
  addControlCommands(program);
  addSpecCommands(program);
  addWorkerCommands(program);
  addArtifactCommands(program);
  addCompareCommand(program);
  addExportMetricsCommand(program);
  addReportCommand(program);
  addSchemaCommand(program);
  addInitCommand(program);
  addServerCommand(program);
  addScheduleCommands(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    if (
      err instanceof SpecErrors ||
      err instanceof PluginPackageError ||
      err instanceof ConnectionSettingsError ||
      err instanceof BadInputError
    ) {
      log(err instanceof SpecErrors ? err.message : `retain: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    if (err instanceof WorkflowNotFoundError) {
      log(`retain: ${noRunMessage(err.workflowId)}`);
      return EXIT_BAD_INPUT;
    }
    log(`retain: ${messageWithCauses(err)}`);
    return EXIT_FAILED;
  }
  return exit.code;
}

/** `retain 0.1.0 (build 1a2b3c4d5e6f)`: the CLI package's version and the checkout it runs from, if any. */
function versionLine(): string {
  // __dirname is src/ under jest and dist/ when built: package.json is one level up either way.
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const build = retainBuild();
  return build === `v${version}` ? `retain ${version}` : `retain ${version} (build ${build})`;
}

/**
 * An error's message followed by its causes' (the Temporal client wraps the server's reason, e.g.
 * "Failed to start Workflow" around the payload limit it hit), each said once.
 */
function messageWithCauses(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) {
    if (!parts.some((p) => p.includes(e.message))) parts.push(e.message);
  }
  return parts.join(': ') || String(err);
}
