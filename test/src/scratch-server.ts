import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type DevServer, type DevServerOptions, resolveTemporalCli, startDevServer } from '@retain/infra';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';

/** A throwaway dev server for a bench or results script: its own temp state dir, removed on close. */
export interface ScratchServer {
  server: DevServer;
  /** The temp dir the server's state lives in; scripts may put their own files under it. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts a dev server on a free port with a SQLite file in a fresh temp dir and Retain's search
 * attributes, using the CLI infra/setup.sh installed under the workspace's .retain/tools.
 */
export async function startScratchServer(prefix: string, extra: Pick<DevServerOptions, 'dynamicConfig'> = {}): Promise<ScratchServer> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const cli = await resolveTemporalCli({ toolsDir: resolve(__dirname, '../../.retain/tools') });
  const server = await startDevServer({
    cliPath: cli.path,
    stateDir: dir,
    port: 0,
    dbFile: join(dir, 'temporal.sqlite'),
    searchAttributes: { ...RUN_SEARCH_ATTRIBUTES },
    ...extra,
  });
  return {
    server,
    dir,
    close: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
