import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type ConnectionSettings, loadConnectionSettings } from './connection-settings';
import { type DevServer, type DevServerOptions, startDevServer } from './dev-server';
import { stateDir, temporalDirOf } from './paths';
import { probeTemporal } from './probe';
import { isAlive, isTemporalDevServer, sleep } from './processes';
import { ensureSearchAttributes } from './search-attributes';
import { type ServerRecord, readServerRecord, removeServerRecord } from './server-record';

// Longer than a start may take (readyTimeoutMs defaults to 60 s), so a waiter outlasts a slow start.
const START_LOCK_WAIT_MS = 90_000;
// A lock file still empty after this long belongs to a process that died between creating and writing it.
const EMPTY_LOCK_STALE_MS = 10_000;

/**
 * A Temporal server to talk to, starting one only when needed:
 *  1. the connection settings (`opts.connection`, else loadConnectionSettings(): TEMPORAL_ADDRESS,
 *     the Temporal config file's profile) name an address: use it (namespace: the settings', else
 *     'default'); start nothing. No probe here: the caller connects with the settings' TLS and API key
 *     (and describes the connection with describeConnection).
 *  2. the embedded server recorded in `<state>/temporal/server.json` is alive and answers: reuse it.
 *  3. otherwise start one with startDevServer(opts). If another process started one from the same
 *     state dir meanwhile (two `retain run` at once), reuse that one.
 * stop() stops only a server this call started.
 */
export async function ensureTemporal(opts: DevServerOptions & { connection?: ConnectionSettings } = {}): Promise<DevServer> {
  const settings = opts.connection ?? loadConnectionSettings();
  if (settings.address) {
    const namespace = settings.namespace ?? 'default';
    return { address: settings.address, namespace, pid: 0, startedHere: false, stop: async () => undefined };
  }

  const state = path.resolve(opts.stateDir ?? stateDir());
  // Two `retain run` at once must not both start a server on the same SQLite file: the second
  // waits for the first and then reuses its server.
  return withStartLock(state, async () => {
    const record = await readServerRecord(state);
    if (record) {
      if (await isTemporalDevServer(record.pid)) return reuse(state, record, opts);
      await removeServerRecord(state, record.pid); // its server is gone
    }
    return startDevServer({ ...opts, stateDir: state });
  });
}

async function reuse(state: string, record: ServerRecord, opts: DevServerOptions): Promise<DevServer> {
  const namespace = opts.namespace ?? 'default';
  const probe = await probeTemporal(record.address, namespace, 5_000);
  if (!probe.ok) {
    throw new Error(
      `The Temporal dev server recorded in ${state} (pid ${record.pid}, ${record.address}) runs but does not answer ` +
        `for namespace '${namespace}': ${probe.reason}. See ${record.logFile}; stop it with stopEmbeddedServer() ` +
        `(or kill ${record.pid}) and retry.`,
    );
  }
  await ensureSearchAttributes(record.address, namespace, opts.searchAttributes ?? {});
  opts.log?.(`Reusing the Temporal dev server at ${record.address} (pid ${record.pid})`);
  return {
    address: record.address,
    namespace,
    pid: record.pid,
    startedHere: false,
    stop: async () => undefined,
    dbFile: record.dbFile,
    logFile: record.logFile,
    uiUrl: record.uiUrl,
  };
}

/** Runs `fn` holding `<state>/temporal/start.lock` (created exclusively, holding our pid). */
async function withStartLock<T>(state: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(temporalDirOf(state), 'start.lock');
  await fs.mkdir(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + START_LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStaleLock(lock)) {
      await fs.rm(lock, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Another process has been starting the Temporal dev server in ${state} for over ${START_LOCK_WAIT_MS / 1000} s ` +
          `(lock ${lock}, holder pid ${await fs.readFile(lock, 'utf8').catch(() => '?')}). If no such process runs, delete the lock.`,
      );
    }
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function isStaleLock(lock: string): Promise<boolean> {
  try {
    const text = (await fs.readFile(lock, 'utf8')).trim();
    if (text === '') return Date.now() - (await fs.stat(lock)).mtimeMs > EMPTY_LOCK_STALE_MS;
    return !isAlive(Number(text));
  } catch {
    return false; // gone already: the next exclusive create decides
  }
}
