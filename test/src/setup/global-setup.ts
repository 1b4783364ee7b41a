import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveTemporalCli, startDevServer, stateDir } from '@retain/infra';
import { type TestTemporal, TEST_TEMPORAL_KEY } from './shared';

// The tools dir infra/setup.sh installs the pinned CLI into (it runs from the workspace root), so a
// test run reuses that copy instead of installing one into its temp state dir.
const SHARED_TOOLS_DIR = process.env.RETAIN_HOME ? join(stateDir(), 'tools') : resolve(__dirname, '../../../.retain/tools');

/**
 * Starts ONE Temporal dev server for the whole integration run: a free port, a SQLite file in a temp
 * dir. Its address goes into TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, which jest's workers and the
 * processes tests spawn (workers, the CLI) inherit. It always starts its own server, even when
 * TEMPORAL_ADDRESS is already set, so tests never write into a cluster a developer points at.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retain-it-temporal-'));
  const log = (line: string): void => console.log(`[temporal] ${line}`);
  const cli = await resolveTemporalCli({ toolsDir: SHARED_TOOLS_DIR, log });
  const server = await startDevServer({ cliPath: cli.path, stateDir: dir, port: 0, dbFile: join(dir, 'temporal.sqlite') });
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = server.namespace;
  // Code under test that resolves the CLI itself (e.g. with a temp RETAIN_HOME) finds this binary.
  process.env.RETAIN_TEMPORAL_CLI ??= cli.path;
  log(`dev server for this test run at ${server.address} (pid ${server.pid}, log ${server.logFile})`);
  const shared: TestTemporal = { server, dir };
  (globalThis as Record<string, unknown>)[TEST_TEMPORAL_KEY] = shared;
}
