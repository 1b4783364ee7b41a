import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureSearchAttributes, ensureTemporal, stateDir, type DevServer } from '@retain/infra';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';
import { join } from 'node:path';
import { log } from './output';

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
  /** For an in-process worker; opened on first use. */
  worker(): Promise<NativeConnection>;
  /** `keepServer` overrides the choice made at connect time (e.g. a run interrupted by Ctrl-C). */
  close(opts?: { keepServer?: boolean }): Promise<void>;
}

/**
 * Connects to TEMPORAL_ADDRESS when it is set, else to the embedded dev server (started if it
 * is not running). `keepServer`: leave a server started here running after `close()`.
 */
export async function connectTemporal(opts: { keepServer: boolean; log: (line: string) => void }): Promise<Temporal> {
  const server = await ensureTemporal({ detached: true, log: opts.log, searchAttributes: { ...RUN_SEARCH_ATTRIBUTES } });
  const client = await Connection.connect({ address: server.address }).catch((err: Error) => {
    const fix = process.env.TEMPORAL_ADDRESS
      ? 'check TEMPORAL_ADDRESS, or unset it to use the embedded dev server'
      : 'see the server log under the state directory, or stop it with `npx retain server-stop` and retry';
    throw new Error(`cannot reach the Temporal server at ${server.address} (${err.message}): ${fix}`);
  });
  // A server Retain did not start (TEMPORAL_ADDRESS, an older embedded one) may lack the run attributes.
  await ensureSearchAttributes(server.address, server.namespace, { ...RUN_SEARCH_ATTRIBUTES }).catch(async (err: Error) => {
    await client.close();
    throw new Error(`cannot register Retain's search attributes on ${server.address}: ${err.message}`);
  });
  let native: NativeConnection | undefined;
  return {
    server,
    client,
    worker: async () => (native ??= await NativeConnection.connect({ address: server.address })),
    close: async ({ keepServer = opts.keepServer } = {}) => {
      await client.close();
      await native?.close();
      if (server.startedHere && !keepServer) await server.stop();
    },
  };
}

/** Runs `fn` with a client of the embedded server (or TEMPORAL_ADDRESS), leaving the server running. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const temporal = await connectTemporal({ keepServer: true, log });
  try {
    return await fn(new Client({ connection: temporal.client, namespace: temporal.server.namespace }));
  } finally {
    await temporal.close();
  }
}
