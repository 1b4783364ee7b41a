import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '@retain/artifacts';
import { decodeSafetensors, InferenceSession } from '@retain/engine';
import type { ExperimentResult, QuantizedManifest, TrainHeartbeat } from '@retain/sdk';
import { Client, Connection } from '@temporalio/client';
import { retainCli } from './cli-process';
import { startWorker, waitForActivity, type WorkerProcess } from './fault/processes';

const retain = (args: string[], env: Record<string, string>) => retainCli(args, env);

/** Every file of a local store, by ref, with its size. */
function filesOf(root: string): Map<string, number> {
  const files = new Map<string, number>();
  const top = join(root, 'sha256');
  for (const prefix of safeReaddir(top))
    for (const rest of safeReaddir(join(top, prefix))) {
      if (rest.endsWith('.tmp')) continue;
      const size = statSafe(join(top, prefix, rest));
      if (size !== undefined) files.set(`sha256:${prefix}${rest}`, size);
    }
  return files;
}
const safeReaddir = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};
const statSafe = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return undefined; // deleted between readdir and stat
  }
};

/** The `task` of a mid-task (train-state) checkpoint file; undefined for any other artifact. */
function trainStateTask(path: string): string | undefined {
  try {
    const { metadata } = decodeSafetensors(readFileSync(path));
    return metadata.kind === 'train-state' ? metadata.task : undefined;
  } catch {
    return undefined; // not a checkpoint (JSON, ONNX), or deleted meanwhile
  }
}

/**
 * One small run through the real CLI and worker, then what the artifact commands do with its
 * store: mid-task checkpoints gone after each task, `show` accounting for every byte, `export`
 * writing the stored model, `gc` deleting exactly the planted garbage.
 */
describe('artifact lifecycle: superseded checkpoints, show, export, gc', () => {
  let dir: string;
  let env: Record<string, string>;
  let store: LocalArtifactStore;
  const runId = `lifecycle-${process.pid}`;
  let result: ExperimentResult;
  const trainStates = new Map<string, string>(); // ref -> task

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-lifecycle-'));
    env = { RETAIN_HOME: join(dir, 'state') };
    store = new LocalArtifactStore(join(dir, 'state', 'artifacts'));
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'name: lifecycle',
        'seed: 4',
        'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 4000, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        // 250 steps a task, a mid-task checkpoint every 25.
        'trainer: { name: supervised, config: { epochs: 2, batchSize: 32, checkpointEvery: 25 } }',
        `execution: { taskQueue: lifecycle-${process.pid} }`,
        'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
        '',
      ].join('\n'),
    );
    // Watch the store while the run trains: every train-state checkpoint that appears.
    const watcher = setInterval(() => {
      for (const ref of filesOf(store.root).keys()) {
        if (trainStates.has(ref)) continue;
        const task = trainStateTask(store.pathOf(ref));
        if (task !== undefined) trainStates.set(ref, task);
      }
    }, 20);
    const run = await retain(['run', spec, '--id', runId, '--out', join(dir, 'out')], env).finally(() => clearInterval(watcher));
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    result = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as ExperimentResult;
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("deletes each task's mid-task checkpoints once it finishes; every artifact results.json names still loads", async () => {
    // Both tasks wrote some that the watcher saw while they trained.
    expect(new Set(trainStates.values())).toEqual(new Set(['0', '1']));
    for (const ref of trainStates.keys()) expect(await store.has(ref)).toBe(false);
    const named = JSON.stringify(result).match(/sha256:[0-9a-f]{64}/g) ?? [];
    expect(named.length).toBeGreaterThanOrEqual(2 * 3); // per task: checkpoint, manifest, codes
    for (const ref of named) expect((await store.get(ref)).byteLength).toBeGreaterThan(0);
  });

  it('`retain show` counts every artifact of the run: here, every byte in the store', async () => {
    const shown = await retain(['show', runId, '--json'], env);
    expect(shown.code).toBe(0);
    const summary = JSON.parse(shown.stdout) as {
      status: string;
      tasks: number;
      finishedTasks: number[];
      kinds: Record<string, { count: number; bytes: number }>;
      total: { count: number; bytes: number };
      missing: string[];
    };
    const files = filesOf(store.root);
    // Nothing in the store is left unnamed by the run (no leaked checkpoint), and show misses nothing.
    expect(summary.total).toEqual({ count: files.size, bytes: [...files.values()].reduce((a, b) => a + b, 0) });
    expect(summary).toMatchObject({ status: 'completed', tasks: 2, finishedTasks: [0, 1], missing: [] });
    // Initial + one per task; one manifest and one ONNX model per task; codes per task and the
    // first task's grid (fixedGridRef, for the fixed-grid crossing rate); results.
    expect(summary.kinds.checkpoints.count).toBe(3);
    expect(summary.kinds['quantized models'].count).toBe(4);
    expect(summary.kinds.codes.count).toBe(3);
    expect(summary.kinds.results.count).toBe(1);
    const table = await retain(['show', runId], env);
    expect(table.stdout).toMatch(new RegExp(`^${runId}: completed · 2 of 2 tasks finished · artifacts in local folder `));
    expect(table.stdout).toMatch(/\ntotal\s+\d+\s+[\d.]+ KiB/);
  });

  it('`retain export` writes the stored quantized model byte for byte, and an fp32 model; both run in onnxruntime', async () => {
    const int8 = join(dir, 'int8.onnx');
    const exported = await retain(['export', runId, '--task', '1', '--model', 'rtn-int8', '--out', int8], env);
    expect({ code: exported.code, stderr: exported.stderr }).toMatchObject({ code: 0, stderr: expect.stringMatching(/written to/) });
    const manifest = await store.getJson<QuantizedManifest>(result.models[1].quantized['rtn-int8'].manifestRef);
    expect(readFileSync(int8).equals(Buffer.from(await store.get(manifest.heads[0])))).toBe(true);

    const fp32 = join(dir, 'fp32.onnx');
    expect((await retain(['export', runId, '--task', '0', '--model', 'fp32', '--out', fp32], env)).code).toBe(0);
    for (const file of [int8, fp32]) {
      const session = await InferenceSession.create(readFileSync(file));
      try {
        const { logits } = await session.run(new Float32Array(2 * 784).fill(0.5), 2);
        expect(logits).toHaveLength(2 * 10);
        expect(logits.every(Number.isFinite)).toBe(true);
      } finally {
        await session.close();
      }
    }

    const badModel = await retain(['export', runId, '--task', '0', '--model', 'rtn-int4', '--out', join(dir, 'x.onnx')], env);
    expect(badModel).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--model rtn-int4: task 0 has no such model; it has fp32, rtn-int8'),
    });
    const badTask = await retain(['export', runId, '--task', '5', '--model', 'fp32', '--out', join(dir, 'x.onnx')], env);
    expect(badTask).toMatchObject({ code: 2, stderr: expect.stringContaining('--task 5: run lifecycle-') });
  });

  it("`retain gc` with no grace period keeps a paused run's checkpoint: unpaused, it trains on from it", async () => {
    const queue = `lifecycle-pause-${process.pid}`;
    const spec = join(dir, 'long.yaml');
    writeFileSync(
      spec,
      [
        'name: lifecycle-pause',
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 2000, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        // Long enough to be caught training; cancelled once it has shown where it resumed.
        'trainer: { name: supervised, config: { steps: 100000, batchSize: 16 } }',
        `execution: { taskQueue: ${queue} }`,
        '',
      ].join('\n'),
    );
    const pausedId = `lifecycle-pause-${process.pid}`;
    expect((await retain(['run', spec, '--detach', '--id', pausedId], env)).code).toBe(0);
    const worker: WorkerProcess = startWorker(queue, env.RETAIN_HOME);
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    try {
      const handle = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }).workflow.getHandle(pausedId);
      await worker.ready;
      await waitForActivity(
        handle,
        (a) => a.type === 'trainTask' && ((a.details as TrainHeartbeat | undefined)?.step ?? 0) > 0,
        'training',
      );
      const pause = await retain(['pause', pausedId], env);
      expect({ code: pause.code, stderr: pause.stderr }).toMatchObject({ code: 0 });
      await until(['status', pausedId], /: paused ·/);

      const gc = await retain(['gc', '--keep-younger-than', '0'], env);
      expect(gc.stdout).toMatch(/^deleted \d+ artifacts? .* and 0 younger than 0s/);
      const shown = JSON.parse((await retain(['show', pausedId, '--json'], env)).stdout) as { status: string; missing: string[] };
      expect(shown).toMatchObject({ status: 'running', missing: [] });

      expect((await retain(['unpause', pausedId], env)).code).toBe(0);
      // Training on from the pause's checkpoint, which gc therefore kept (without it: from step 0, resumedAt unset).
      const resumed = await waitForActivity(
        handle,
        (a) =>
          a.type === 'trainTask' &&
          (a.details as TrainHeartbeat | undefined)?.step !== undefined &&
          ((a.details as TrainHeartbeat).resumedAt ?? 0) > 0,
        'training resumed from the checkpoint',
      );
      expect((resumed.details as TrainHeartbeat).step).toBeGreaterThan((resumed.details as TrainHeartbeat).resumedAt!);
      expect((await retain(['cancel', pausedId], env)).code).toBe(0);
    } finally {
      await connection.close();
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  it('`retain gc` keeps the last good checkpoint a failed run names in its error', async () => {
    const spec = join(dir, 'diverging.yaml');
    writeFileSync(
      spec,
      [
        'name: lifecycle-diverging',
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 500, testPerTask: 100 } }',
        'model: { name: mlp, config: { hidden: [16] } }',
        // The loss turns NaN within a few steps; a checkpoint after every step.
        'trainer: { name: supervised, config: { lr: 1000000, checkpointEvery: 1 } }',
        `execution: { taskQueue: lifecycle-diverging-${process.pid} }`,
        '',
      ].join('\n'),
    );
    const failed = await retain(['run', spec, '--id', `lifecycle-diverging-${process.pid}`], env);
    expect(failed.code).toBe(3); // the run failed (exit codes: packages/cli/src/output.ts)
    const [, lastGood] = /last good checkpoint .*\(artifact (sha256:[0-9a-f]{64})\)/.exec(failed.stderr) ?? [];
    expect(lastGood).toBeDefined();
    expect((await retain(['gc', '--keep-younger-than', '0'], env)).code).toBe(0);
    expect(await store.has(lastGood)).toBe(true);
  });

  /** Repeats `retain <args>` until its stdout matches (the run moves on its own clock). */
  async function until(args: string[], pattern: RegExp): Promise<void> {
    const deadline = Date.now() + 120_000;
    let last = '';
    while (Date.now() < deadline) {
      const out = await retain(args, env);
      last = `${out.stdout}${out.stderr}`;
      if (out.code === 0 && pattern.test(out.stdout)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`retain ${args.join(' ')} never printed /${pattern.source}/; last output:\n${last}`);
  }

  it('`retain gc` deletes exactly the old garbage, spares young artifacts and the run, whose result still loads', async () => {
    const runFiles = filesOf(store.root);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const old = await Promise.all([store.put(randomBytes(1000)), store.put(randomBytes(3000))]);
    for (const ref of old) utimesSync(store.pathOf(ref), twoHoursAgo, twoHoursAgo);
    const young = await store.put(randomBytes(500));

    const dry = await retain(['gc', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would delete 2 artifacts \(3\.9 KiB\); kept \d+ named by \d+ runs? .* and 1 younger than 1h \(500 B\)/);
    for (const ref of old) expect(await store.has(ref)).toBe(true);

    const gc = await retain(['gc'], env);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/^deleted 2 artifacts \(3\.9 KiB\)/);
    expect(new Set(filesOf(store.root).keys())).toEqual(new Set([...runFiles.keys(), young]));

    // A store no run on this server names (as seen through a wrong TEMPORAL_ADDRESS or namespace) is left alone without --force.
    const otherEnv = { RETAIN_HOME: join(dir, 'other') };
    const other = new LocalArtifactStore(join(dir, 'other', 'artifacts'));
    const stray = await other.put(randomBytes(100));
    utimesSync(other.pathOf(stray), twoHoursAgo, twoHoursAgo);
    const refused = await retain(['gc'], otherEnv);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /no run on the Temporal server .* names any artifact in local folder .*check TEMPORAL_ADDRESS.*retain gc --force/,
    );
    expect(await other.has(stray)).toBe(true);
    expect((await retain(['gc', '--force'], otherEnv)).stdout).toMatch(/^deleted 1 artifact \(100 B\)/);
    expect(await other.has(stray)).toBe(false);

    const bad = await retain(['gc', '--keep-younger-than', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'soon' is not a duration/);

    const again = await retain(['result', runId, '--out', join(dir, 'again')], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Accuracy, rtn-int8/);
    expect(JSON.parse(readFileSync(join(dir, 'again', 'results.json'), 'utf8'))).toEqual(result);
  });
});
