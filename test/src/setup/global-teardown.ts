import { rmSync } from 'node:fs';
import { type TestTemporal, TEST_TEMPORAL_KEY } from './shared';

/** Stops the dev server of global-setup.ts (jest runs both in its main process) and removes its temp dir. */
export default async function globalTeardown(): Promise<void> {
  const shared = (globalThis as Record<string, unknown>)[TEST_TEMPORAL_KEY] as TestTemporal | undefined;
  if (!shared) return;
  await shared.server.stop();
  rmSync(shared.dir, { recursive: true, force: true });
}
