import * as path from 'node:path';
import { type DevServer, type DevServerOptions, startDevServer } from './dev-server';
import { stateDir } from './paths';
import { probeTemporal } from './probe';
import { isTemporalDevServer } from './processes';
import { ensureSearchAttributes } from './search-attributes';
import { readServerRecord, removeServerRecord } from './server-record';

/**
 * A Temporal server to talk to, starting one only when needed:
 *  1. env TEMPORAL_ADDRESS set: use it (namespace: env TEMPORAL_NAMESPACE, else 'default'); start nothing.
 *     No probe here: a cluster may need TLS or an API key that only the caller's client knows.
 *  2. the embedded server recorded in `<state>/temporal/server.json` is alive and answers: reuse it.
 *  3. otherwise start one with startDevServer(opts).
 * stop() stops only a server this call started.
 */
export async function ensureTemporal(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => undefined);
  const external = process.env.TEMPORAL_ADDRESS?.trim();
  if (external) {
    const namespace = process.env.TEMPORAL_NAMESPACE?.trim() || 'default';
    log(`Using the Temporal server at ${external} (TEMPORAL_ADDRESS), namespace ${namespace}`);
    return { address: external, namespace, pid: 0, startedHere: false, stop: async () => undefined };
  }

  const state = path.resolve(opts.stateDir ?? stateDir());
  const namespace = opts.namespace ?? 'default';
  const record = await readServerRecord(state);
  if (record) {
    if (await isTemporalDevServer(record.pid)) {
      const probe = await probeTemporal(record.address, namespace, 5_000);
      if (!probe.ok) {
        throw new Error(
          `The Temporal dev server recorded in ${state} (pid ${record.pid}, ${record.address}) runs but does not answer ` +
            `for namespace '${namespace}': ${probe.reason}. See ${record.logFile}; stop it with stopEmbeddedServer() ` +
            `(or kill ${record.pid}) and retry.`,
        );
      }
      await ensureSearchAttributes(record.address, namespace, opts.searchAttributes ?? {});
      log(`Reusing the Temporal dev server at ${record.address} (pid ${record.pid})`);
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
    await removeServerRecord(state, record.pid); // its server is gone
  }
  return startDevServer({ ...opts, stateDir: state });
}
