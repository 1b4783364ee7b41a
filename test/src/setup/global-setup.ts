import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type TestTemporal, TEST_TEMPORAL_KEY } from './shared';

/**
 * Starts ONE Temporal dev server for the whole integration run: a free port, a SQLite file in a temp
 * dir. Its address goes into TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, which jest's workers and the
 * processes tests spawn (workers, the CLI) inherit. It always starts its own server, even when
 * TEMPORAL_ADDRESS is already set, so tests never write into a cluster a developer points at.
 */
export default async function globalSetup(): Promise<void> {
  const { resolveTemporalCli, startDevServer, stateDir } = await loadInfra();
  // The tools dir infra/setup.sh installs the pinned CLI into (it runs from the workspace root), so a
  // test run reuses that copy instead of installing one into its temp state dir.
  const toolsDir = process.env.RETAIN_HOME ? join(stateDir(), 'tools') : resolve(__dirname, '../../../.retain/tools');
  const dir = mkdtempSync(join(tmpdir(), 'retain-it-temporal-'));
  const log = (line: string): void => console.log(`[temporal] ${line}`);
  const cli = await resolveTemporalCli({ toolsDir, log });
  const { RUN_SEARCH_ATTRIBUTES } = await import('@retain/workflows');
  const server = await startDevServer({
    cliPath: cli.path,
    stateDir: dir,
    port: 0,
    dbFile: join(dir, 'temporal.sqlite'),
    searchAttributes: { ...RUN_SEARCH_ATTRIBUTES },
  });
  // Likewise a developer's shared artifact store: the tests' workers use their own temp folders.
  delete process.env.RETAIN_ARTIFACTS;
  // And a developer's Temporal connection settings (TLS, API key, a config-file profile): an empty config file.
  for (const name of Object.keys(process.env)) if (name.startsWith('TEMPORAL_')) delete process.env[name];
  writeFileSync((process.env.TEMPORAL_CONFIG_FILE = join(dir, 'temporal.toml')), '');
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = server.namespace;
  // Code under test that resolves the CLI itself (e.g. with a temp RETAIN_HOME) finds this binary.
  process.env.RETAIN_TEMPORAL_CLI ??= cli.path;
  log(`dev server for this test run at ${server.address} (pid ${server.pid}, log ${server.logFile})`);
  const shared: TestTemporal = { server, dir };
  (globalThis as Record<string, unknown>)[TEST_TEMPORAL_KEY] = shared;
}

/** jest loads global setup with Node's own module resolution, which picks infra's built dist/, not its sources. */
async function loadInfra(): Promise<typeof import('@retain/infra')> {
  try {
    return await import('@retain/infra');
  } catch (err) {
    throw new Error(
      `The integration tests' global setup needs @retain/infra built: run 'npm run build' at the workspace root ` +
        `(npm test does it first) or 'npx tsc -b' in test/. Cause: ${(err as Error).message}`,
    );
  }
}
