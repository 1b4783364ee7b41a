import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type ScheduleHandle } from '@temporalio/client';
import { retainCli, startRetain } from './cli-process';

/** Fires a schedule now (the SDK's trigger, as the server would at its time); the id of the workflow it started. */
async function fire(handle: ScheduleHandle): Promise<string | undefined> {
  await handle.trigger();
  for (let i = 0; i < 100; i++) {
    const started = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (started) return started;
    await new Promise((done) => setTimeout(done, 100));
  }
  return undefined;
}

/** `retain schedule`: a Temporal Schedule on the test run's dev server that starts the spec's run. */
describe('retain schedule', () => {
  let dir: string;
  let connection: Connection;
  let client: Client;
  const env = () => ({ RETAIN_HOME: join(dir, 'state') });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-schedule-'));
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  });
  afterAll(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a schedule, lists it, starts the run when triggered, and deletes it', async () => {
    const name = `scheduled-${process.pid}`;
    const spec = join(dir, 'scheduled.yaml');
    writeFileSync(
      spec,
      [
        `name: ${name}`,
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 100, testPerTask: 100 } }',
        'model: mlp',
        'trainer: supervised',
        // No worker polls this queue: the started run waits, which is all this test needs.
        `execution: { taskQueue: nobody-${process.pid}, priority: 2 }`,
        '',
      ].join('\n'),
    );
    const id = `nightly-${process.pid}`;
    const created = await retainCli(['schedule', spec, '--cron', '0 3 * * *', '--id', id], env());
    expect({ code: created.code, stderr: created.code === 0 ? '' : created.stderr }).toEqual({ code: 0, stderr: '' });
    expect(created.stdout).toBe(`${id}\n`);
    const listed = await retainCli(['schedule', 'ls'], env());
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+${name}\\s+0 3 \\* \\* \\*\\s+\\d{4}-\\d\\d-\\d\\dT03:00:00\\.000Z\\s+-$`, 'm'));

    const runId = await fire(client.schedule.getHandle(id));
    expect(runId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    const run = await client.workflow.getHandle(runId!).describe();
    try {
      expect(run.type).toBe('experimentWorkflow');
      expect(run.status.name).toBe('RUNNING');
      expect(run.taskQueue).toBe(`nobody-${process.pid}`);
      expect(run.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(2);
      // `retain ls` finds it by the spec's search attributes, and the CLI takes its id.
      const runs = await retainCli(['ls', '--spec', name], env());
      expect(runs.stdout).toContain(runId);
      expect((await retainCli(['schedule', 'ls'], env())).stdout).toContain(runId);
    } finally {
      await client.workflow.getHandle(runId!).terminate('schedule test done');
    }

    expect((await retainCli(['schedule', 'delete', id], env())).code).toBe(0);
    expect((await retainCli(['schedule', 'ls'], env())).stdout).not.toContain(id);
    const again = await retainCli(['schedule', 'delete', id], env());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no schedule .* `retain schedule ls` lists them/);
  });

  it('schedules a sweep: each firing runs the stored plan, its cells named after the firing', async () => {
    const queue = `sweep-schedule-${process.pid}`;
    const spec = join(dir, 'scheduled-sweep.yaml');
    writeFileSync(
      spec,
      [
        `name: swept-${process.pid}`,
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 100, testPerTask: 100 } }',
        'model: mlp',
        'trainer: supervised',
        `execution: { taskQueue: ${queue} }`,
        'sweep: { seeds: [0, 1], parallel: 2 }',
        '',
      ].join('\n'),
    );
    const id = `weekly-${process.pid}`;
    const created = await retainCli(['schedule', spec, '--cron', '0 4 * * 1', '--id', id], env());
    expect({ code: created.code, stderr: created.code === 0 ? '' : created.stderr }).toEqual({ code: 0, stderr: '' });
    expect(created.stderr).toContain(`starts sweep swept-${process.pid}`);
    const worker = startRetain(['worker', '--queue', queue], env(), /worker polling/);
    try {
      await worker.ready;
      const sweepId = await fire(client.schedule.getHandle(id));
      expect(sweepId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
      const sweep = client.workflow.getHandle(sweepId!);
      expect((await sweep.describe()).type).toBe('sweepWorkflow');
      const outcome = (await sweep.result()) as { sweepId: string; completed: number };
      expect(outcome).toMatchObject({ sweepId, completed: 2 });
      // The cells ran under the firing's id, not the schedule's: a second firing would not collide with them.
      for (const cell of [`${sweepId}-c00`, `${sweepId}-c01`])
        expect((await client.workflow.getHandle(cell).describe()).status.name).toBe('COMPLETED');
      const shown = await retainCli(['show', sweepId!], env());
      expect(shown.stdout).toMatch(new RegExp(`^sweep ${sweepId}: 2 cells \\(2 completed\\)`));
    } finally {
      worker.child.kill('SIGINT');
      await worker.exited;
      await retainCli(['schedule', 'delete', id], env());
    }
  });

  it('refuses a cron expression Temporal cannot read, naming --cron, and creates nothing', async () => {
    const spec = join(dir, 'bad-cron.yaml');
    writeFileSync(spec, 'name: bad-cron\nbenchmark: permuted-fmnist\nmodel: mlp\ntrainer: supervised\n');
    const refused = await retainCli(['schedule', spec, '--cron', 'every night', '--id', `bad-${process.pid}`], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--cron 'every night' is not a schedule Temporal accepts/);
    await expect(client.schedule.getHandle(`bad-${process.pid}`).describe()).rejects.toThrow();
  });
});
