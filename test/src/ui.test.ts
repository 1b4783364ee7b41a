import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retainCli, startRetain } from './cli-process';

/** GETs a URL; the Web UI is a single-page app: every page of it is the same HTML shell. */
async function page(url: string): Promise<{ status: number; type: string; html: boolean }> {
  const response = await fetch(url);
  const body = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', html: /^<!doctype html>/i.test(body.trim()) };
}

/**
 * Temporal's Web UI from the embedded server Retain starts itself (not the test run's shared
 * server): `retain server --ui` serves it, `retain run` and `retain status` print a run's page.
 */
describe('retain server --ui', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-ui-'));
    // Its own state dir and free ports; not the shared test server the environment names.
    env = { RETAIN_HOME: join(dir, 'state'), RETAIN_TEMPORAL_PORT: '0', TEMPORAL_ADDRESS: undefined, TEMPORAL_NAMESPACE: undefined };
  });
  afterAll(async () => {
    await retainCli(['server-stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the Web UI, and `retain run` and `retain status` print the run’s page in it', async () => {
    const server = await retainCli(['server', '--ui'], env);
    expect({ code: server.code, stderr: server.code === 0 ? '' : server.stderr }).toEqual({ code: 0, stderr: '' });
    const ui = server.stdout.trim();
    expect(ui).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/);
    expect(await page(ui)).toEqual({ status: 200, type: expect.stringContaining('text/html'), html: true });

    const spec = join(dir, 'ui.yaml');
    writeFileSync(
      spec,
      [
        'name: ui-link',
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 100, testPerTask: 100 } }',
        'model: mlp',
        'trainer: supervised',
        `execution: { taskQueue: ui-${process.pid} }`,
        '',
      ].join('\n'),
    );
    // A whole (tiny) run: `retain status` on a run no worker serves would wait for its query's deadline.
    const run = await retainCli(['run', spec], env);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const runId = /run (\S+) in the Temporal Web UI/.exec(run.stderr)?.[1] ?? 'none';
    const link = `${ui}/namespaces/default/workflows/${runId}`;
    expect(run.stderr).toContain(`run ${runId} in the Temporal Web UI: ${link}\n`);
    expect(await page(link)).toEqual({ status: 200, type: expect.stringContaining('text/html'), html: true });

    const status = await retainCli(['status', runId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`\nweb UI: ${link}\n`);
    // A configured UI (a remote server's) wins over the embedded one's.
    const configured = await retainCli(['status', runId], { ...env, RETAIN_UI_URL: 'https://temporal-ui.example/' });
    expect(configured.stdout).toContain(`\nweb UI: https://temporal-ui.example/namespaces/default/workflows/${runId}\n`);
  });

  it('refuses --ui when the embedded server already runs without its UI, saying how to restart it', async () => {
    expect((await retainCli(['server-stop'], env)).code).toBe(0);
    const headless = await retainCli(['server'], env);
    expect(headless.code).toBe(0);
    const refused = await retainCli(['server', '--ui'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already runs without its Web UI; stop it with `npx retain server-stop`/);
    // And without a UI nothing prints a link.
    expect((await retainCli(['status', 'no-such-run'], env)).stdout).not.toMatch(/web UI/);
  });

  it('`retain dev --ui` serves the UI while it runs, and stops the server with it', async () => {
    await retainCli(['server-stop'], env);
    const dev = startRetain(['dev', '--ui'], env, /Temporal Web UI: (\S+)\n/);
    const ui = /Temporal Web UI: (\S+)\n/.exec(await dev.ready)?.[1] ?? 'none';
    expect(await page(ui)).toEqual({ status: 200, type: expect.stringContaining('text/html'), html: true });
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    await expect(fetch(ui)).rejects.toThrow();
  });
});
