import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatWithOptions } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * Where the Temporal SDK's own logs go (its worker's "Activity failed" warnings carry whole stack
 * traces). Commands print only its errors, one line each, without stacks: a run's failure is
 * reported once, in the CLI's words. With `--verbose`, `run` and `resume` write them all, at
 * RETAIN_LOG_LEVEL (INFO by default there), to a file under the run's folder. `retain worker` and
 * `dev`, long-lived processes whose stderr is their log, print them as the SDK does, from WARN.
 */
type Sink = { kind: 'terminal'; level: LogLevel; full: boolean } | { kind: 'file'; path: string; level: LogLevel };

const SEVERITIES: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
let sink: Sink = { kind: 'terminal', level: envLevel('ERROR'), full: process.env.RETAIN_LOG_LEVEL !== undefined };

function envLevel(fallback: LogLevel): LogLevel {
  const level = (process.env.RETAIN_LOG_LEVEL ?? fallback).toUpperCase() as LogLevel;
  return SEVERITIES.includes(level) ? level : fallback;
}

const atLeast = (level: LogLevel, min: LogLevel) => SEVERITIES.indexOf(level) >= SEVERITIES.indexOf(min);

function write(entry: LogEntry): void {
  const { level, message, meta, timestampNanos } = entry;
  if (!atLeast(level, sink.level)) return;
  const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  if (sink.kind === 'file') {
    const details = meta === undefined ? '' : ` ${formatWithOptions({ colors: false, depth: 6 }, meta)}`;
    try {
      appendFileSync(sink.path, `${time} [${level}] ${message}${details}\n`);
    } catch {
      // A log that cannot be written (a full disk) must not fail the worker it describes.
    }
  } else if (sink.full) {
    process.stderr.write(`${time} [${level}] ${message}${meta === undefined ? '' : ` ${formatWithOptions({ colors: false }, meta)}`}\n`);
  } else {
    const error = (meta as { error?: unknown } | undefined)?.error;
    process.stderr.write(`retain: worker ${level.toLowerCase()}: ${message}${error instanceof Error ? `: ${error.message}` : ''}\n`);
  }
}

let runtimeInstalled = false;

/** Installs the SDK runtime with this module's logger; once per process, before any connection. */
export function installSdkLogger(): void {
  // Once per process: tests call main() many times in one process, and Runtime.install throws on a second call.
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The runtime filters at TRACE; `write` applies the current sink's level, which a command may change later.
  // shutdownSignals: Retain decides what Ctrl-C means (keep the run, stop the worker), not the SDK.
  Runtime.install({ logger: new DefaultLogger('TRACE', write), shutdownSignals: [] });
}

/** For `retain worker` and `dev`: the SDK's logs on stderr, as it writes them, from RETAIN_LOG_LEVEL (default WARN). */
export function sdkLogsOnStderr(): void {
  sink = { kind: 'terminal', level: envLevel('WARN'), full: true };
}

/**
 * For a command that runs a worker on the user's behalf: only the worker's own errors on the
 * terminal, one line each; with `verboseFile`, every log (RETAIN_LOG_LEVEL, default INFO) in that
 * file, whose path it returns.
 */
export function quietSdkLogs(verboseFile?: string): string | undefined {
  if (!verboseFile) {
    sink = { kind: 'terminal', level: 'ERROR', full: false };
    return undefined;
  }
  mkdirSync(dirname(verboseFile), { recursive: true });
  sink = { kind: 'file', path: verboseFile, level: envLevel('INFO') };
  return verboseFile;
}
