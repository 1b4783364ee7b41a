import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { experimentWorkflow, progressQuery } from '@retain/workflows';
import { experimentResultOf } from '@retain/worker';
import { createHarness, smallPermutedSpec, type Harness } from './harness';

const CLI = resolve(__dirname, '../../packages/cli/bin/retain.js');

/** A `retain worker` process; resolves `ready` once it polls. */
function startWorker(queue: string, home: string) {
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', queue], {
    env: { ...process.env, RETAIN_HOME: home },
  });
  let stderr = '';
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  const ready = new Promise<void>((done, fail) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/worker polling/.test(stderr)) done();
    });
    void exited.then(() => fail(new Error(`retain worker exited before polling:\n${stderr}`)));
  });
  return { child, ready, exited };
}

/**
 * A method's state between tasks lives in artifacts, never in worker memory: a worker killed with
 * SIGKILL between tasks and replaced by a fresh process gives the same numbers and the same
 * artifacts as an uninterrupted run. SI is the case in point: it carries both kinds of state
 * (the step graph's path integral, handed from trainTask to consolidate, and the importance
 * and anchor handed from task to task).
 */
describe('method state across a worker crash', () => {
  let harness: Harness;
  let home: string;
  beforeAll(async () => {
    harness = await createHarness('method-crash');
    home = mkdtempSync(join(tmpdir(), 'retain-method-crash-'));
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('kill -9 of the worker between tasks, then a new worker: the final numbers and artifacts are unchanged', async () => {
    const spec = smallPermutedSpec({
      benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 1000, testPerTask: 300 } },
      model: { name: 'mlp', config: { hidden: [32] } },
      method: { name: 'si', config: {} },
      quantizers: [],
    });
    // The reference runs in this process, on its own queue, while the crash plays out.
    const reference = harness.run(spec);
    reference.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled

    const queue = `method-crash-${process.pid}`;
    const first = startWorker(queue, home);
    await first.ready;
    const handle = await harness.client.workflow.start(experimentWorkflow, {
      taskQueue: queue,
      workflowId: `${queue}-run`,
      args: [{ spec: { ...spec, execution: { taskQueue: queue } } }],
    });
    // Task 0 done (its method state stored), task 1 about to train: kill the worker there.
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.task >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startWorker(queue, home);
    await second.ready;
    try {
      // RETAIN_HOME's artifact store: the workflow returns a ref to the result stored there.
      const [resumed, uninterrupted] = await Promise.all([
        handle.result().then((output) => experimentResultOf(output, join(home, 'artifacts'))),
        reference,
      ]);
      expect(resumed.matrices).toEqual(uninterrupted.matrices);
      expect(resumed.models.map((m) => [m.checkpointRef, m.methodStateRef])).toEqual(
        uninterrupted.models.map((m) => [m.checkpointRef, m.methodStateRef]),
      );
      expect(resumed.models[1].methodStateRef).toBeDefined();
    } finally {
      second.child.kill('SIGINT');
      await second.exited;
    }
  }, 180_000);
});
