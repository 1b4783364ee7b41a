import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { retainBuild } from '@retain/worker';
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
import { addSetupCommand } from './commands/setup';
import { addWorkerCommands } from './commands/worker';
import { describeError } from './errors';
import { EXIT_BAD_INPUT, EXIT_OK, log, type ExitCode } from './output';
import { installSdkLogger } from './sdk-log';

export { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_UNREACHABLE } from './output';

/** The `retain` command: runs argv and returns the process's exit code (see output.ts). */
export async function main(argv: string[]): Promise<number> {
  // The worker's own logs (state changes, webpack's bundle report) would drown the progress line:
  // warnings and errors only (RETAIN_LOG_LEVEL for more), and none while a command runs a worker
  // for the user (sdk-log.ts). Must run before any connection.
  installSdkLogger();
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
  addWorkerCommands(program, exit);
  addArtifactCommands(program);
  addCompareCommand(program);
  addExportMetricsCommand(program);
  addReportCommand(program);
  addSchemaCommand(program);
  addInitCommand(program);
  addServerCommand(program);
  addSetupCommand(program);
  addScheduleCommands(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    const { code, message } = describeError(err);
    log(message);
    return code;
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
