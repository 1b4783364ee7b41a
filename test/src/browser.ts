import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (infra/setup.sh installs it); RETAIN_CHROMIUM names another build. */
export const CHROMIUM = process.env.RETAIN_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for a headless chromium that talks to nothing: no GPU, no sandbox (CI runs as root), and
 * none of the background traffic (component updates, sync, QUIC probes, first-run pages) that a
 * closed network would turn into console noise.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser context: one chromium with a fresh profile, removed by `close`. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts chromium through playwright-core (which downloads no browser of its own) with a fresh --user-data-dir. */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: run infra/setup.sh (Debian package chromium) or set RETAIN_CHROMIUM to a chromium binary`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'retain-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
