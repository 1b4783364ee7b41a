import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import {
  checkTlsEndpoint,
  ConnectionSettingsError,
  describeConnection,
  ensureSearchAttributes,
  ensureTemporal,
  explainRpcError,
  loadConnectionSettings,
  stateDir,
  type ConnectionSettings,
  type DevServer,
  type TemporalConnectOptions,
} from '@retain/infra';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { log, ServerUnreachableError } from './output';
import { refuseHeadlessServer, refuseUiWithRemoteServer } from './ui';

/** Where this CLI keeps its state: the embedded server's files, tools, artifacts, results. */
export interface Paths {
  state: string;
  artifacts: string;
  runs: string;
  /** Reusable build outputs, e.g. the workflow bundle. */
  cache: string;
}

export function paths(): Paths {
  const state = stateDir();
  return { state, artifacts: join(state, 'artifacts'), runs: join(state, 'runs'), cache: join(state, 'cache') };
}

export interface Temporal {
  server: DevServer;
  client: Connection;
  /** For an in-process worker (same address, TLS and API key as the client); opened on first use. */
  worker(): Promise<NativeConnection>;
  /** `keepServer` overrides the choice made at connect time (e.g. a run interrupted by Ctrl-C). */
  close(opts?: { keepServer?: boolean }): Promise<void>;
}

/**
 * Connects to the server the connection settings name (TEMPORAL_* variables, the Temporal config
 * file's profile: see loadConnectionSettings), else to the embedded dev server (started if it is not
 * running), and says which in one line. `keepServer`: leave a server started here running after
 * `close()`. Wrong TLS material fails within seconds with the setting to fix.
 */
export async function connectTemporal(opts: {
  keepServer: boolean;
  log: (line: string) => void;
  /** Start the embedded server with its Web UI (on `port`, default the gRPC port + 1000); see ui.ts. */
  ui?: { port?: number };
}): Promise<Temporal> {
  const settings = loadConnectionSettings();
  if (opts.ui) refuseUiWithRemoteServer(settings);
  const server = await ensureTemporal({
    detached: true,
    log: opts.log,
    searchAttributes: { ...RUN_SEARCH_ATTRIBUTES },
    connection: settings,
    ...(opts.ui ? { headless: false, uiPort: opts.ui.port } : {}),
  });
  if (opts.ui && !server.uiUrl) refuseHeadlessServer(server);
  opts.log(describeConnection(settings, server));
  const options: TemporalConnectOptions = { ...settings.connect, address: server.address };
  // Before the SDK: its client retries a refused handshake for 10 s and then says only "deadline".
  await checkTlsEndpoint(settings, server.address).catch((err: Error) => {
    throw err instanceof ConnectionSettingsError ? err : new ServerUnreachableError(err.message);
  });
  // ...and a refused or unanswered TCP connection, for the same reason: say so within seconds.
  if (!settings.tls) await probeTcp(server.address, reachFix(settings));
  const client = await Connection.connect(options).catch((err: Error) => {
    throw new ServerUnreachableError(`cannot reach the Temporal server at ${server.address} (${err.message}): ${reachFix(settings)}`);
  });
  // A server Retain did not start (a cluster, an older embedded one) may lack the run attributes.
  await ensureSearchAttributes(client, server.namespace, { ...RUN_SEARCH_ATTRIBUTES }).catch(async (err: Error) => {
    await client.close();
    const why = explainRpcError(err, settings);
    throw new Error(`cannot register Retain's search attributes on ${server.address}: ${why ?? err.message}`);
  });
  let native: NativeConnection | undefined;
  return {
    server,
    client,
    worker: async () =>
      (native ??= await NativeConnection.connect(options).catch((err: Error) => {
        throw new ServerUnreachableError(
          `the worker cannot connect to the Temporal server at ${server.address} (${err.message}): ${reachFix(settings)}`,
        );
      })),
    close: async ({ keepServer = opts.keepServer } = {}) => {
      await client.close();
      await native?.close();
      if (server.startedHere && !keepServer) await server.stop();
    },
  };
}

/** Fails with ServerUnreachableError unless a TCP connection to `address` opens within `timeoutMs`. */
function probeTcp(address: string, fix: string, timeoutMs = 5_000): Promise<void> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(at + 1));
  return new Promise((done, fail) => {
    const socket = connectTcp({ host, port, timeout: timeoutMs });
    const settle = (err?: string) => {
      socket.destroy();
      if (err) fail(new ServerUnreachableError(`cannot reach the Temporal server at ${address} (${err}): ${fix}`));
      else done();
    };
    socket.once('connect', () => settle());
    socket.once('timeout', () => settle(`no answer within ${timeoutMs / 1000} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message));
  });
}

function reachFix(settings: ConnectionSettings): string {
  if (!settings.address) return 'see the server log under the state directory, or stop it with `npx retain server-stop` and retry';
  return `check ${settings.addressSource ?? 'TEMPORAL_ADDRESS'}${settings.tls ? ' and the TLS settings' : ''}, or unset it to use the embedded dev server`;
}

/**
 * Runs `fn` with a client of the configured server (or the embedded one), leaving the server
 * running. `quiet`: no connection line, for a look-up before a command that connects (and says so) itself.
 */
export async function withClient<T>(fn: (client: Client, server: DevServer) => Promise<T>, options: { quiet?: boolean } = {}): Promise<T> {
  const temporal = await connectTemporal({ keepServer: true, log: options.quiet ? () => undefined : log });
  try {
    return await fn(new Client({ connection: temporal.client, namespace: temporal.server.namespace }), temporal.server);
  } finally {
    await temporal.close();
  }
}
