import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retainCli, startWorker, type WorkerProcess } from './fault/processes';

/**
 * Run control through the built CLI against the shared test server: status, pause, ls through
 * the search attributes, unpause, cancel, on a real run trained by a real `retain worker`.
 */
describe('retain status / pause / unpause / cancel / ls', () => {
  let dir: string;
  let worker: WorkerProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-cli-control-'));
  });
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Repeats `retain <args>` until its stdout matches (the run moves on its own clock). */
  async function until(args: string[], pattern: RegExp, env: Record<string, string>): Promise<string> {
    const deadline = Date.now() + 120_000;
    let last = '';
    while (Date.now() < deadline) {
      const out = await retainCli(args, env);
      last = `${out.stdout}${out.stderr}`;
      if (out.code === 0 && pattern.test(out.stdout)) return out.stdout;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`retain ${args.join(' ')} never printed /${pattern.source}/; last output:\n${last}`);
  }

  it('shows progress, pauses and lists by status, continues, and cancels a run', async () => {
    const queue = `cli-control-${process.pid}`;
    const env = { RETAIN_HOME: join(dir, 'state') };
    const spec = join(dir, 'control.yaml');
    writeFileSync(
      spec,
      [
        `name: cli-control-${process.pid}`,
        'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 2000, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        // Long enough to be caught training: 20,000 steps of batch 16.
        'trainer: { name: supervised, config: { steps: 20000, batchSize: 16 } }',
        'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
        `execution: { taskQueue: ${queue} }`,
      ].join('\n'),
    );
    const started = await retainCli(['run', spec, '--detach'], env);
    expect(started.code).toBe(0);
    const runId = started.stdout.trim();
    worker = startWorker(queue, join(dir, 'state'));
    await worker.ready;

    const status = await until(['status', runId], /training · epoch \d+ · step \d+\/20000 · loss/, env);
    expect(status).toMatch(new RegExp(`^${runId}: running · task 1/2 · training`));
    expect(status).toMatch(/ETA/);

    expect((await retainCli(['pause', runId], env)).code).toBe(0);
    await until(['status', runId], /: paused ·/, env);
    const paused = await until(['ls', '--status', 'paused', '--spec', `cli-control-${process.pid}`], new RegExp(runId), env);
    expect(paused).toMatch(new RegExp(`${runId}\\s+paused\\s+cli-control-${process.pid}\\s+naive\\s+rtn-int8`));
    // Another status filter does not list it.
    expect((await retainCli(['ls', '--status', 'failed', '--spec', `cli-control-${process.pid}`], env)).stdout).not.toMatch(runId);

    expect((await retainCli(['unpause', runId], env)).code).toBe(0);
    await until(['status', runId], /: running · .*step \d+\/20000/, env);

    const cancelled = await retainCli(['cancel', runId], env);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stderr).toMatch(`run ${runId} cancelled`);
    expect((await retainCli(['status', runId], env)).stdout.trim()).toBe(`${runId}: cancelled`);
    await until(['ls', '--status', 'cancelled', '--method', 'naive', '--quantizer', 'rtn-int8'], new RegExp(runId), env);
  });
});
