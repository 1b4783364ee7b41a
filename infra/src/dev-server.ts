import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, promises as fs, openSync } from 'node:fs';
import * as path from 'node:path';
import { defaultDbFile, serverLogPath, stateDir, temporalDirOf, toolsDirOf } from './paths';
import { freePort, isPortFree } from './ports';
import { probeTemporal } from './probe';
import { isTemporalDevServer, sleep, terminate } from './processes';
import { type SearchAttributeType, searchAttributeFlags } from './search-attributes';
import { readServerRecord, removeServerRecord, writeServerRecord } from './server-record';
import { resolveTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  /** Temporal CLI binary; default: resolveTemporalCli() with the tools dir of `stateDir`. */
  cliPath?: string;
  /** Default: stateDir() (env RETAIN_HOME, else `<cwd>/.retain`). */
  stateDir?: string;
  /** gRPC port; default env RETAIN_TEMPORAL_PORT, else 7233; 0 picks a free port. */
  port?: number;
  /** Web UI port (only without headless); default port + 1000, or a free port when port is 0. */
  uiPort?: number;
  /** No Web UI (default true). */
  headless?: boolean;
  /** Namespace to create and wait for (default 'default', which always exists). */
  namespace?: string;
  /** SQLite file; default `<state>/temporal/dev.sqlite`, so a restarted server keeps its runs. */
  dbFile?: string;
  searchAttributes?: Record<string, SearchAttributeType>;
  /** `--dynamic-config-value KEY=VALUE` pairs, e.g. lower history limits in a test. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Survive this process: own process group, found again through server.json. */
  detached?: boolean;
  log?: (line: string) => void;
  /** How long to wait for the server to answer (default 60 s). */
  readyTimeoutMs?: number;
}

export interface DevServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  namespace: string;
  /** 0 when the server is not a local process of ours (TEMPORAL_ADDRESS). */
  pid: number;
  startedHere: boolean;
  /** Stops the server if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
  dbFile?: string;
  logFile?: string;
  uiUrl?: string;
}

/** The port is held by something else; `temporal` says whether that something answers as a Temporal server. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly temporal: boolean,
    message: string,
  ) {
    super(message);
    this.name = 'PortInUseError';
  }
}

// The server binds loopback only: the embedded server is for this machine; clusters use TEMPORAL_ADDRESS.
const HOST = '127.0.0.1';
const DEFAULT_PORT = 7233;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 30;
/**
 * Write-ahead logging for the SQLite file. Every commit is still synced (synchronous stays FULL),
 * but appending to the log is cheaper than SQLite's default rollback journal, and each workflow
 * or activity task hand-off is a commit: measured on a 10-task run, it cut the time the run spent
 * outside activities from about 1.0 s to 0.65 s (see `npm run bench:orchestration`).
 */
const SQLITE_PRAGMA_FLAGS = ['--sqlite-pragma', 'journal_mode=wal'];
/**
 * One partition per task queue (the dev server's default is 4). The server orders a queue's waiting
 * tasks by priority key within a partition only (Temporal Server 1.32, measured: an urgent run's
 * task was picked before 3 waiting long runs' tasks in 6 of 6 tries with one partition, 8 of 9 with
 * four), and one machine's server gains nothing from spreading a queue. So a spec's
 * `execution.priority` is honoured exactly here. `dynamicConfig` may override these.
 */
const DEFAULT_DYNAMIC_CONFIG: Record<string, number> = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** Starts `temporal server start-dev` and resolves once it answers describeNamespace. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => undefined);
  const state = path.resolve(opts.stateDir ?? stateDir());
  const namespace = opts.namespace ?? 'default';
  const dbFile = path.resolve(opts.dbFile ?? defaultDbFile(state));
  const logFile = serverLogPath(state);
  const headless = opts.headless ?? true;
  const detached = opts.detached ?? false;

  await refuseSecondServerOnDb(state, dbFile);
  const requestedPort = opts.port ?? portFromEnv() ?? DEFAULT_PORT;
  const port = await choosePort(requestedPort, namespace, state);
  const uiPort = headless ? undefined : await chooseUiPort(opts.uiPort, requestedPort, port);
  const cliPath = opts.cliPath ?? (await resolveTemporalCli({ toolsDir: toolsDirOf(state), log })).path;

  const args = [
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--port',
    String(port),
    '--db-filename',
    dbFile,
    ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
    ...SQLITE_PRAGMA_FLAGS,
    ...searchAttributeFlags(opts.searchAttributes),
    ...dynamicConfigFlags({ ...DEFAULT_DYNAMIC_CONFIG, ...opts.dynamicConfig }),
  ];
  await fs.mkdir(temporalDirOf(state), { recursive: true });
  await fs.mkdir(path.dirname(dbFile), { recursive: true });
  const logOffset = await appendLogHeader(logFile, cliPath, args);

  const address = `${HOST}:${port}`;
  log(`Starting Temporal dev server on ${address} (db ${dbFile}, log ${logFile})`);
  const child = await spawnServer(cliPath, args, logFile, temporalDirOf(state), detached);
  const pid = child.pid as number;
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exit code ${code}`));
  // A non-detached server must not outlive this process (a detached one is meant to).
  const killWithUs = (): void => void child.kill('SIGTERM');
  if (detached) child.unref();
  else process.once('exit', killWithUs);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (;;) {
    const probe = await probeTemporal(address, namespace, 2_000);
    if (probe.ok) break;
    if (exit !== undefined) {
      process.removeListener('exit', killWithUs);
      throw new Error(
        `Temporal dev server exited during startup (${exit}): ${cliPath} ${args.join(' ')}\n` +
          `Last lines of ${logFile}:\n${await logTail(logFile, logOffset)}`,
      );
    }
    if (Date.now() >= deadline) {
      process.removeListener('exit', killWithUs);
      await terminate(pid, { group: detached });
      throw new Error(
        `Temporal dev server on ${address} did not answer within ${opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms ` +
          `(last probe: ${probe.reason}); it was stopped. Raise readyTimeoutMs on a slow machine, or see ${logFile}:\n` +
          (await logTail(logFile, logOffset)),
      );
    }
    await sleep(200);
  }

  const uiUrl = uiPort === undefined ? undefined : `http://${HOST}:${uiPort}`;
  await writeServerRecord(state, {
    pid,
    address,
    port,
    namespace,
    dbFile,
    logFile,
    cliPath,
    detached,
    uiUrl,
    startedAt: new Date().toISOString(),
  });
  log(`Temporal dev server ready at ${address} (pid ${pid}${uiUrl ? `, UI ${uiUrl}` : ''})`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', killWithUs);
      await terminate(pid, { group: detached });
      await removeServerRecord(state, pid);
      log(`Temporal dev server at ${address} stopped`);
    })());
  return { address, namespace, pid, startedHere: true, stop, dbFile, logFile, uiUrl };
}

/** Stops the detached (or orphaned) server recorded in `<state>/temporal/server.json`; false when none runs. */
export async function stopEmbeddedServer(state: string = stateDir()): Promise<boolean> {
  const dir = path.resolve(state);
  const record = await readServerRecord(dir);
  if (!record) return false;
  if (!(await isTemporalDevServer(record.pid))) {
    await removeServerRecord(dir, record.pid); // stale: the server is gone (or its pid now belongs to another program)
    return false;
  }
  await terminate(record.pid, { group: record.detached });
  await removeServerRecord(dir, record.pid);
  return true;
}

function portFromEnv(): number | undefined {
  const text = process.env.RETAIN_TEMPORAL_PORT;
  if (text === undefined || text.trim() === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`RETAIN_TEMPORAL_PORT=${text} is not a port number (0-65535; 0 picks a free port).`);
  }
  return port;
}

async function choosePort(port: number, namespace: string, state: string): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Temporal dev server port ${port} is not a port number (0-65535; 0 picks a free port).`);
  }
  if (port === 0) return freePort(HOST);
  if (await isPortFree(port, HOST)) return port;

  // retain has no --port flag: the embedded server's port comes from the environment only.
  const fixes = `pick another port with RETAIN_TEMPORAL_PORT=<n> (0 picks a free one)`;
  const temporal = (await probeTemporal(`${HOST}:${port}`, 'default', 2_000)).ok;
  if (temporal) {
    throw new PortInUseError(
      port,
      true,
      `Port ${port} on ${HOST} is already served by a Temporal server that was not started from ${state}. ` +
        `To use it, set TEMPORAL_ADDRESS=${HOST}:${port}; to start Retain's own server instead, ${fixes}.`,
    );
  }
  throw new PortInUseError(
    port,
    false,
    `Port ${port} on ${HOST} is already in use by a program that is not a Temporal server, so the Temporal dev server ` +
      `cannot start there. Either ${fixes}, or point TEMPORAL_ADDRESS at a Temporal server you already run ` +
      `(e.g. TEMPORAL_ADDRESS=my-host:7233). To see what holds the port: ss -ltnp 'sport = :${port}'`,
  );
}

async function chooseUiPort(uiPort: number | undefined, requestedPort: number, port: number): Promise<number> {
  if (uiPort === 0 || (uiPort === undefined && requestedPort === 0)) return freePort(HOST);
  return uiPort ?? port + 1000; // the CLI's own default
}

function dynamicConfigFlags(config: Record<string, string | number | boolean> = {}): string[] {
  // The CLI parses each value as JSON, so strings need their quotes.
  return Object.entries(config).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

async function refuseSecondServerOnDb(state: string, dbFile: string): Promise<void> {
  const record = await readServerRecord(state);
  if (!record || path.resolve(record.dbFile) !== dbFile || !(await isTemporalDevServer(record.pid))) return;
  throw new Error(
    `A Temporal dev server (pid ${record.pid}) already runs on ${record.address} with ${dbFile}; a second server on ` +
      `the same SQLite file would fight over it. Reuse it (ensureTemporal(), or TEMPORAL_ADDRESS=${record.address}) ` +
      `or stop it first (stopEmbeddedServer('${state}'), or kill ${record.pid}).`,
  );
}

function spawnServer(cliPath: string, args: string[], logFile: string, cwd: string, detached: boolean): Promise<ChildProcess> {
  // The server writes straight into its log file, so it needs no pipe to this process and a
  // detached server keeps logging after we exit.
  const fd = openSync(logFile, 'a');
  try {
    const env = { ...process.env };
    delete env.TEMPORAL_ADDRESS; // client settings meant for Retain, not for the server we start
    delete env.TEMPORAL_NAMESPACE;
    const child = spawn(cliPath, args, { cwd, detached, env, stdio: ['ignore', fd, fd] });
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(child));
      // `on`, not `once`: a later 'error' (e.g. a failed kill) must not become an uncaught exception.
      child.on('error', (err) =>
        reject(new Error(`Could not run the Temporal CLI ${cliPath}: ${err.message}. Check RETAIN_TEMPORAL_CLI / the tools dir.`)),
      );
    });
  } finally {
    closeSync(fd);
  }
}

async function appendLogHeader(logFile: string, cliPath: string, args: string[]): Promise<number> {
  await fs.appendFile(logFile, `\n=== ${new Date().toISOString()} ${cliPath} ${args.join(' ')}\n`);
  return (await fs.stat(logFile)).size;
}

/** The last lines this run wrote to the log (earlier runs share the file). */
async function logTail(logFile: string, offset: number): Promise<string> {
  try {
    const text = (await fs.readFile(logFile)).subarray(offset).toString('utf8');
    const lines = text.trimEnd().split('\n');
    return (
      lines
        .slice(-LOG_TAIL_LINES)
        .map((line) => `  ${line}`)
        .join('\n') || '  (empty)'
    );
  } catch (err) {
    return `  (could not read it: ${(err as Error).message})`;
  }
}
