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

    // ETA shows once 1% of the run is done ('…' before).
    const status = await until(['status', runId], /training · epoch \d+ · step \d+\/20000 · loss .* ETA \d/, env);
    expect(status).toMatch(new RegExp(`^${runId}: running · task 1/2 · training`));
    // ETA is the elapsed time extrapolated over the work left: (elapsed / done) * (1 - done), with
    // done = (task + step / steps) / tasks. Check it against the numbers the same line prints; the
    // line rounds elapsed and ETA to whole seconds, hence the tolerance.
    const [, task, step, elapsed, eta] = /task (\d+)\/2 · .*step (\d+)\/20000 .*elapsed (\S+) · ETA (\S+)$/.exec(status.trim()) ?? [];
    expect(eta).toMatch(/^(\d+h\d\dm|\d+m\d\ds|\d+s)$/);
    const done = (Number(task) - 1 + Number(step) / 20000) / 2;
    const expected = (seconds(elapsed) / done) * (1 - done);
    expect(seconds(eta)).toBeGreaterThan(0);
    expect(Math.abs(seconds(eta) - expected)).toBeLessThanOrEqual((0.5 * (1 - done)) / done + 1);

    expect((await retainCli(['pause', runId], env)).code).toBe(0);
    await until(['status', runId], /: paused ·/, env);
    const paused = await until(['ls', '--status', 'paused', '--spec', `cli-control-${process.pid}`], new RegExp(runId), env);
    expect(paused).toMatch(new RegExp(`${runId}\\s+run\\s+paused\\s+cli-control-${process.pid}\\s+naive\\s+rtn-int8`));
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

/** Seconds of a duration as `retain status` prints it: 7s, 3m05s, 1h02m. */
function seconds(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
