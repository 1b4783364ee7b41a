import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure, type Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalArtifactStore } from '@retain/artifacts';
import { decodeModel, InferenceSession } from '@retain/engine';
import { summarize } from '@retain/metrics';
import type {
  ExperimentSpec,
  ExperimentState,
  FinishTaskHeartbeat,
  TaskRecord,
  TrainHeartbeat,
  QuantizedManifest,
  QuantizeOutput,
  RetainActivities,
  StartRunOutput,
  TrainTaskOutput,
} from '@retain/sdk';
import { definePlugin, PluginRegistry, z } from '@retain/sdk';
import { createActivities } from './activities';
import { loadTensors, saveTensors } from './checkpoint';
import { createWorkerContext, type WorkerContext } from './context';
import { evaluateModel } from './evaluate';
import { consolidate, quantize as quantizeModel } from './finish-task';
import { loadTrainCheckpoint } from './train-state';
import { builtinPlugins, defaultRegistry } from './plugins';
import { experimentResultOf } from './run-records';

// Real plugins, real Fashion-MNIST, real ONNX sessions; only Temporal's activity context is the
// SDK's own test double. Loading the dataset takes a few seconds, each activity about a second.
jest.setTimeout(120_000);

/** Two small permuted tasks: enough to train, quantize and evaluate in seconds. */
function specWith(trainer: Record<string, unknown> = {}): ExperimentSpec {
  return defaultRegistry().validateSpec({
    name: 'worker-activities-test',
    seed: 11,
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 1000, testPerTask: 300 } },
    model: { name: 'mlp', config: { hidden: [32] } },
    trainer: { name: 'supervised', config: { epochs: 2, ...trainer } },
    method: 'naive',
    quantizers: [
      { name: 'rtn', config: { bits: 8 } },
      { name: 'rtn', config: { bits: 4 } },
      { name: 'rtn', config: { bits: 4, granularity: 'block', blockSize: 32, format: 'matmulnbits' } },
    ],
  });
}

/** Runs one activity in a fresh mock context (a cancelled context stays cancelled), recording heartbeats. */
function inActivity<R>(fn: () => Promise<R>, info: Partial<Info> = {}) {
  // Failing on purpose is part of several tests: keep the SDK's WARN 'Activity failed' lines out.
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  const heartbeats: Record<string, unknown>[] = [];
  env.on('heartbeat', (d: Record<string, unknown>) => heartbeats.push(d));
  return { env, heartbeats, result: env.run<[], R, () => Promise<R>>(fn) };
}

let dir: string;
let store: LocalArtifactStore;
let activities: RetainActivities;
/** finishTask's stages (consolidate, quantize, evaluate), called as plain functions on the same plumbing. */
let ctx: WorkerContext;
let spec: ExperimentSpec;
let prepared: StartRunOutput;
let trained: TrainTaskOutput;
let trainHeartbeats: Record<string, unknown>[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retain-worker-activities-'));
  store = new LocalArtifactStore(dir);
  activities = createActivities({ registry: defaultRegistry(), artifacts: store });
  ctx = createWorkerContext({ registry: defaultRegistry(), artifacts: store });
  spec = specWith();
  prepared = await inActivity(() => activities.startRun({ spec })).result;
  const training = inActivity(() => activities.trainTask({ spec, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
  trained = await training.result;
  // The first beat comes at the start, before any step (keepAlive); the trainer's progress follows.
  trainHeartbeats = training.heartbeats.filter((h) => h.step !== undefined);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Evaluates a model, recording the progress it reports. */
const evaluate = (checkpointRef: string, manifestRef?: string) => {
  const progress: Array<[number, number]> = [];
  return { progress, result: evaluateModel(ctx, { spec, checkpointRef, manifestRef }, (done, of) => progress.push([done, of])) };
};
const quantize = (quantizerId: string) => quantizeModel(ctx, { spec, taskIndex: 0, checkpointRef: trained.checkpointRef, quantizerId });

describe('worker activities', () => {
  test('startRun names the tasks and stores a loadable, deterministic initial checkpoint and its accuracy', async () => {
    expect(prepared.info).toEqual({ taskNames: ['permuted-0', 'permuted-1'], heads: 1, classesPerHead: 10 });
    const params = await loadTensors(store, prepared.checkpointRef, 'model');
    expect(Object.fromEntries(Object.entries(params).map(([name, t]) => [name, t.dims]))).toEqual({
      'trunk.0.weight': [784, 32],
      'trunk.0.bias': [32],
      'head.0.weight': [32, 10],
      'head.0.bias': [10],
    });
    // Initialisation derives from the spec's seed, so starting again stores the same bytes.
    expect((await inActivity(() => activities.startRun({ spec })).result).checkpointRef).toBe(prepared.checkpointRef);
    expect(await store.getJson<number[]>(prepared.initialRef)).toEqual((await evaluate(prepared.checkpointRef).result).accuracy);
  });

  test('trainTask heartbeats its progress and returns a new checkpoint with training stats', async () => {
    // 1000 samples / batch 128 = 8 steps per epoch, 2 epochs.
    expect(trained).toMatchObject({ steps: 16, samples: 2000 });
    expect(trained.checkpointRef).not.toBe(prepared.checkpointRef);
    expect(Number.isFinite(trained.finalLoss)).toBe(true);
    expect(trained.seconds).toBeGreaterThan(0);
    expect(trained.samplesPerSec).toBeCloseTo(trained.samples / trained.seconds, 6);

    // The trainer reports after step 1 and after the last step (and about once a second between).
    expect(trainHeartbeats[0]).toMatchObject({ taskIndex: 0, step: 1, totalSteps: 16, epoch: 0 });
    expect(trainHeartbeats[trainHeartbeats.length - 1]).toMatchObject({
      taskIndex: 0,
      step: 16,
      totalSteps: 16,
      epoch: 1,
      loss: trained.finalLoss,
    });
    // Measured: loss 3.06 after step 1, 0.99 after step 16.
    expect(trained.finalLoss).toBeLessThan((trainHeartbeats[0].loss as number) / 2);

    const before = await loadTensors(store, prepared.checkpointRef, 'model');
    const after = await loadTensors(store, trained.checkpointRef, 'model');
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(Buffer.from(after['trunk.0.weight'].data.buffer).equals(Buffer.from(before['trunk.0.weight'].data.buffer))).toBe(false);
    // Same spec, same seed, same checkpoint: the same bytes, hence the same ref (a retried attempt
    // reproduces the first one).
    const again = await inActivity(() => activities.trainTask({ spec, taskIndex: 0, checkpointRef: prepared.checkpointRef })).result;
    expect(again.checkpointRef).toBe(trained.checkpointRef);
  });

  test('consolidate with the naive method keeps no state', async () => {
    const out = await consolidate(ctx, { spec, taskIndex: 0, checkpointRef: trained.checkpointRef });
    expect(out).toEqual({ methodStateRef: undefined });
  });

  test('quantize stores a manifest of loadable ONNX models; int4 is smaller than int8', async () => {
    const int8 = await quantize('rtn-int8');
    const int4 = await quantize('rtn-int4');
    for (const [id, out] of [
      ['rtn-int8', int8],
      ['rtn-int4', int4],
    ] as Array<[string, QuantizeOutput]>) {
      const manifest = await store.getJson<QuantizedManifest>(out.manifestRef);
      expect(manifest).toEqual({ quantizerId: id, heads: [expect.stringMatching(/^sha256:[0-9a-f]{64}$/)], bytes: out.bytes });
      const onnx = await store.get(manifest.heads[0]);
      expect(onnx.byteLength).toBe(out.bytes);
      const session = await InferenceSession.create(onnx);
      expect(session.inputDims).toEqual([784]);
      await session.close();
    }
    // Measured: 26,536 bytes (int8) vs 13,829 (int4); the fp32 trunk weight alone is 100,352.
    expect(int4.bytes).toBeLessThan(int8.bytes);
    expect(int8.bytes).toBeLessThan(784 * 32 * 4);
    await expect(quantize('rtn-int3')).rejects.toThrow("quantizers: no quantizer has id 'rtn-int3'");
  });

  test("quantize writes the quantizer's export format: MatMulNBits when its config asks for it", async () => {
    const out = await quantize('rtn-int4-block32-nbits');
    const manifest = await store.getJson<QuantizedManifest>(out.manifestRef);
    const ops = decodeModel(await store.get(manifest.heads[0])).graph.node.map((n) => n.op_type);
    expect(ops.filter((op) => op === 'MatMulNBits')).toHaveLength(2); // the trunk layer and the head
    expect(ops).not.toContain('DequantizeLinear');
  });

  test("quantize keeps the codes and, given the previous task's, reports the share that crossed a bucket", async () => {
    const first = await quantize('rtn-int4');
    expect(first.bucketCrossingRate).toBeUndefined();
    const same = await quantizeModel(ctx, {
      spec,
      taskIndex: 0,
      checkpointRef: trained.checkpointRef,
      quantizerId: 'rtn-int4',
      previousCodesRef: first.codesRef,
    });
    expect(same.bucketCrossingRate).toBe(0); // the same weights give the same codes
    const next = await inActivity(() => activities.trainTask({ spec, taskIndex: 1, checkpointRef: trained.checkpointRef })).result;
    const second = await quantizeModel(ctx, {
      spec,
      taskIndex: 1,
      checkpointRef: next.checkpointRef,
      quantizerId: 'rtn-int4',
      previousCodesRef: first.codesRef,
    });
    const [before, after] = [
      await loadTensors(store, first.codesRef, 'quantized-codes'),
      await loadTensors(store, second.codesRef, 'quantized-codes'),
    ];
    expect(Object.keys(after).sort()).toEqual(['head.0.weight', 'trunk.0.weight']);
    let changed = 0;
    let total = 0;
    for (const name of Object.keys(after)) {
      total += after[name].data.length;
      after[name].data.forEach((code, i) => (changed += code !== before[name].data[i] ? 1 : 0));
      expect(Array.from(after[name].data).every((c) => Number.isInteger(c) && c >= -7 && c <= 7)).toBe(true);
    }
    expect(second.bucketCrossingRate).toBe(changed / total);
    expect(second.bucketCrossingRate).toBeGreaterThan(0);
    expect(second.bucketCrossingRate).toBeLessThan(1);
  });

  test("counts crossings on the first task's fixed grid too: none when only the scales changed, some after real training", async () => {
    const first = await quantize('rtn-int4');
    expect(first.fixedGridRef).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.fixedGridCrossingRate).toBeUndefined();
    // By hand: each output channel's largest weight grows by 0.4 of a step (int4 per channel:
    // qmax 7), so it stays in its bucket of the first grid while its channel's scale grows ~6%.
    const params = await loadTensors(store, trained.checkpointRef, 'model');
    const moved = { ...params };
    for (const name of ['trunk.0.weight', 'head.0.weight']) {
      const [rows, cols] = params[name].dims;
      const data = Float32Array.from(params[name].data);
      for (let c = 0; c < cols; c++) {
        let top = 0;
        for (let r = 1; r < rows; r++) if (Math.abs(data[r * cols + c]) > Math.abs(data[top * cols + c])) top = r;
        data[top * cols + c] *= 1 + 0.4 / 7;
      }
      moved[name] = { dims: [rows, cols], data };
    }
    const rescaled = await quantizeModel(ctx, {
      spec,
      taskIndex: 1,
      checkpointRef: await saveTensors(store, moved, 'model'),
      quantizerId: 'rtn-int4',
      previousCodesRef: first.codesRef,
      fixedGridRef: first.fixedGridRef,
      previousCheckpointRef: trained.checkpointRef,
    });
    expect(rescaled.bucketCrossingRate).toBeGreaterThan(0.01); // codes moved under the weights
    expect(rescaled.fixedGridCrossingRate).toBe(0); // no weight crossed a bucket of the first grid
    expect(rescaled.fixedGridRef).toBe(first.fixedGridRef); // carried on, never recomputed
    const next = await inActivity(() => activities.trainTask({ spec, taskIndex: 1, checkpointRef: trained.checkpointRef })).result;
    const trainedOn = await quantizeModel(ctx, {
      spec,
      taskIndex: 1,
      checkpointRef: next.checkpointRef,
      quantizerId: 'rtn-int4',
      previousCodesRef: first.codesRef,
      fixedGridRef: first.fixedGridRef,
      previousCheckpointRef: trained.checkpointRef,
    });
    expect(trainedOn.fixedGridCrossingRate).toBeGreaterThan(0);
    expect(trainedOn.fixedGridCrossingRate).toBeLessThan(1);
  });

  test('evaluate gives one accuracy per task; training beats the initial model on task 0; int8 stays close', async () => {
    const initial = evaluate(prepared.checkpointRef);
    const fp32 = evaluate(trained.checkpointRef);
    const initialAcc = (await initial.result).accuracy;
    const fp32Acc = (await fp32.result).accuracy;
    const int8Acc = (await evaluate(trained.checkpointRef, (await quantize('rtn-int8')).manifestRef).result).accuracy;
    const int4Acc = (await evaluate(trained.checkpointRef, (await quantize('rtn-int4')).manifestRef).result).accuracy;
    for (const acc of [initialAcc, fp32Acc, int8Acc, int4Acc]) {
      expect(acc).toHaveLength(2);
      for (const a of acc) {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
      }
    }
    // Measured on 300 test images: initial 0.093 / 0.087, after task 0 0.66 / 0.137,
    // int8 0.66 / 0.137, int4 0.67 / 0.137.
    expect(fp32Acc[0]).toBeGreaterThan(initialAcc[0]! + 0.3);
    expect(fp32Acc[0]).toBeGreaterThan(fp32Acc[1]!); // task 1's permutation was never trained
    for (let j = 0; j < 2; j++) expect(Math.abs(int8Acc[j]! - fp32Acc[j]!)).toBeLessThanOrEqual(0.02);
    expect(int4Acc[0]).toBeGreaterThan(initialAcc[0]! + 0.3);

    expect((await fp32.result).extra).toEqual({});
    expect(fp32.progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });

  test('a checkpoint of the wrong kind is refused before any training', async () => {
    const asMethodState = inActivity(() =>
      activities.trainTask({ spec, taskIndex: 1, checkpointRef: trained.checkpointRef, methodStateRef: trained.checkpointRef }),
    );
    await expect(asMethodState.result).rejects.toThrow(
      `artifact ${trained.checkpointRef} is not a method-state checkpoint (format 'retain-checkpoint', kind 'model')`,
    );
    const { manifestRef } = await quantize('rtn-int8');
    const manifestAsModel = inActivity(() => activities.trainTask({ spec, taskIndex: 1, checkpointRef: manifestRef }));
    await expect(manifestAsModel.result).rejects.toThrow(
      `artifact ${manifestRef} is not a model checkpoint: not a valid safetensors checkpoint`,
    );
    // Only the start beat: no step ran.
    expect(asMethodState.heartbeats).toEqual([{ taskIndex: 1, checkpoint: undefined, resumedAt: undefined }]);
    expect(manifestAsModel.heartbeats).toEqual([{ taskIndex: 1, checkpoint: undefined, resumedAt: undefined }]);
  });

  test('cancelling trainTask stops training at the next step', async () => {
    const long = specWith({ steps: 100_000 });
    const run = inActivity(() => activities.trainTask({ spec: long, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    // Heartbeats are delivered synchronously: cancel on the trainer's first one (after step 1 of 100,000).
    run.env.on('heartbeat', (d: { step?: number }) => {
      if (d.step !== undefined) run.env.cancel();
    });
    const err = await run.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect((err as CancelledFailure).message).toBe('training task 0 cancelled');
    // It saved a checkpoint where it stopped and hands it to the workflow in the cancellation.
    const details = (err as CancelledFailure).details[0] as TrainHeartbeat;
    expect(details).toMatchObject({ taskIndex: 0, step: 1, totalSteps: 100_000, checkpoint: { step: 1 } });
    const resumed = await loadTrainCheckpoint(store, details.checkpoint!.checkpointRef, long.seed, 0);
    expect(resumed.step).toBe(1);
    expect(Object.keys(resumed.tensors)).toEqual(expect.arrayContaining(['trunk.0.weight', 'm.trunk.0.weight']));
  });

  test('a retry resumes from the checkpoint in the last attempt heartbeat and ends with the same bits', async () => {
    const every = specWith({ checkpointEvery: 4 });
    const straight = await inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }))
      .result;
    // The first attempt dies after its step-8 checkpoint (cancelled here: a stopped attempt deletes nothing).
    const first = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    first.env.on('heartbeat', (d: TrainHeartbeat) => {
      if (d.checkpoint?.step === 8) first.env.cancel();
    });
    await expect(first.result).rejects.toBeInstanceOf(CancelledFailure);
    const withCheckpoint = first.heartbeats.filter((h) => (h as unknown as TrainHeartbeat).checkpoint?.step === 8);
    expect(withCheckpoint.length).toBeGreaterThan(0);
    const retry = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }), {
      attempt: 2,
      heartbeatDetails: withCheckpoint[0],
    });
    const out = await retry.result;
    expect(out.resumedAt).toBe(8);
    expect(out.checkpointRef).toBe(straight.checkpointRef);
    expect(out.steps).toBe(16);
    expect(retry.heartbeats.filter((h) => h.step !== undefined)[0]).toMatchObject({ step: 9 });
    // The checkpoint it resumed from was this task's own, superseded now: deleted with the ones it wrote.
    expect(await store.has((withCheckpoint[0] as unknown as TrainHeartbeat).checkpoint!.checkpointRef)).toBe(false);
  });

  test('trainTask deletes its mid-task checkpoints once the final one is stored, keeping what the workflow handed it', async () => {
    const every = specWith({ checkpointEvery: 4 });
    const run = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    // Heartbeats are delivered synchronously: each mid-task checkpoint is in the store when its beat names it.
    const during = new Map<string, boolean>();
    run.env.on('heartbeat', (d: TrainHeartbeat) => {
      if (d.checkpoint) during.set(d.checkpoint.checkpointRef, existsSync(store.pathOf(d.checkpoint.checkpointRef)));
    });
    const out = await run.result;
    expect(during.size).toBe(3); // steps 4, 8, 12 (none after the last step: the final checkpoint follows)
    expect([...during.values()]).toEqual([true, true, true]);
    for (const ref of during.keys()) expect(await store.has(ref)).toBe(false);
    expect(Object.keys(await loadTensors(store, out.checkpointRef, 'model'))).toContain('trunk.0.weight');
    expect(await store.has(prepared.checkpointRef)).toBe(true);

    // A paused task resumes from the checkpoint the workflow hands it (resumeFrom), which the
    // run's history names: that one stays; the ones written after it go.
    const paused = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    paused.env.on('heartbeat', (d: TrainHeartbeat) => {
      if (d.checkpoint?.step === 4) paused.env.cancel();
    });
    const handed = ((await paused.result.catch((e: unknown) => e)) as CancelledFailure).details[0] as TrainHeartbeat;
    const resumeFrom = handed.checkpoint!;
    const unpaused = inActivity(() =>
      activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef, resumeFrom }),
    );
    const written: string[] = [];
    unpaused.env.on('heartbeat', (d: TrainHeartbeat) => {
      if (d.checkpoint && d.checkpoint.checkpointRef !== resumeFrom.checkpointRef) written.push(d.checkpoint.checkpointRef);
    });
    expect((await unpaused.result).checkpointRef).toBe(out.checkpointRef);
    expect(await store.has(resumeFrom.checkpointRef)).toBe(true);
    expect(written.length).toBeGreaterThan(0);
    for (const ref of written) expect(await store.has(ref)).toBe(false);
  });

  test('a retry whose heartbeat names a checkpoint already deleted trains from the start, to the same bits', async () => {
    // A finished attempt deleted its checkpoints, then died before Temporal recorded its completion.
    const every = specWith({ checkpointEvery: 4 });
    const first = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    const out = await first.result;
    const last = first.heartbeats[first.heartbeats.length - 1] as unknown as TrainHeartbeat;
    expect(await store.has(last.checkpoint!.checkpointRef)).toBe(false);
    const retry = inActivity(() => activities.trainTask({ spec: every, taskIndex: 0, checkpointRef: prepared.checkpointRef }), {
      attempt: 2,
      heartbeatDetails: last,
    });
    const again = await retry.result;
    expect(again.checkpointRef).toBe(out.checkpointRef);
    expect(again.resumedAt).toBeUndefined();
    expect(retry.heartbeats.filter((h) => h.step !== undefined)[0]).toMatchObject({ step: 1 });
  });

  test('a loss that turns NaN fails the task naming the step and the last good checkpoint, which stays loadable', async () => {
    const diverging = specWith({ lr: 1e6, checkpointEvery: 1 });
    const run = inActivity(() => activities.trainTask({ spec: diverging, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    const err = (await run.result.catch((e: unknown) => e)) as ApplicationFailure;
    // The activity's failure (failures.ts): the plugin's error, classified, and not retried.
    expect(err).toMatchObject({ type: 'PluginError', nonRetryable: true });
    const match =
      /^trainer supervised \(task 0, step (\d+)\): loss became .*the last good checkpoint is at step (\d+) \(artifact (sha256:[0-9a-f]{64})\)$/.exec(
        err.message,
      );
    expect(match).not.toBeNull();
    const [, failedAt, goodAt, ref] = match!;
    expect(Number(goodAt)).toBe(Number(failedAt));
    expect((await loadTrainCheckpoint(store, ref, diverging.seed, 0)).step).toBe(Number(goodAt));
  });
});

describe('finishing a task and a run (finishTask, finishRun)', () => {
  test('finishTask does what consolidate, quantize and evaluate do one by one, stores the task record, and a retry skips the stages its heartbeat names', async () => {
    const run = inActivity(() => activities.finishTask({ spec, taskIndex: 0, trained }));
    const finished = await run.result;
    const record = await store.getJson<TaskRecord>(finished.recordRef);
    const ids = spec.quantizers.map((q) => q.id);
    for (const id of ids) expect(finished.models.quantized[id]).toEqual(await quantize(id));
    expect(record.rows.fp32).toEqual((await evaluate(trained.checkpointRef).result).accuracy);
    for (const id of ids)
      expect(record.rows[id]).toEqual((await evaluate(trained.checkpointRef, finished.models.quantized[id].manifestRef).result).accuracy);
    const { checkpointRef, methodStepStateRef: _, ...training } = trained;
    expect(record).toEqual({ taskIndex: 0, rows: record.rows, models: finished.models, training });
    expect(finished.models.checkpointRef).toBe(checkpointRef);
    // Its heartbeats name the stages in order, the last one carrying every stage's refs.
    const phases = run.heartbeats.map((h) => (h as unknown as FinishTaskHeartbeat).phase);
    expect([...new Set(phases)]).toEqual(['consolidating', 'quantizing', 'evaluating']);
    const last = run.heartbeats[run.heartbeats.length - 1] as unknown as FinishTaskHeartbeat;
    expect(last.quantized).toEqual(finished.models.quantized);

    // A retry whose heartbeat says everything up to evaluation is done takes the quantized models
    // from it: stand-in refs there show up in the record instead of new quantizations.
    const fake = Object.fromEntries(ids.map((id) => [id, { ...finished.models.quantized[id], bytes: 1 }]));
    const retry = inActivity(() => activities.finishTask({ spec, taskIndex: 0, trained }), {
      attempt: 2,
      heartbeatDetails: { taskIndex: 0, phase: 'evaluating', consolidated: {}, quantized: fake } satisfies FinishTaskHeartbeat,
    });
    expect((await retry.result).models.quantized).toEqual(fake);
  });

  test('finishRun walks the record chain back to task 0 and stores results.json', async () => {
    const started = await inActivity(() => activities.startRun({ spec })).result;
    const first = await inActivity(() => activities.finishTask({ spec, taskIndex: 0, trained })).result;
    const trained1 = await inActivity(() =>
      activities.trainTask({ spec, taskIndex: 1, checkpointRef: trained.checkpointRef, methodStateRef: first.models.methodStateRef }),
    ).result;
    const second = await inActivity(() => activities.finishTask({ spec, taskIndex: 1, trained: trained1, previous: first })).result;
    const state: ExperimentState = {
      runId: 'finish-run-test',
      spec,
      info: prepared.info,
      nextTask: 2,
      initialCheckpointRef: started.checkpointRef,
      initialRef: started.initialRef,
      last: second,
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    const outcome = await inActivity(() => activities.finishRun({ state })).result;
    const result = await experimentResultOf(outcome, store);
    expect(outcome).toMatchObject({ runId: 'finish-run-test', tasks: 2, startedAt: state.startedAt, finishedAt: result.finishedAt });
    // results.json's fields in their order since the first release.
    expect(Object.keys(result)).toEqual([
      'runId',
      'spec',
      'tasks',
      'initial',
      'matrices',
      'metrics',
      'quantizationGap',
      'quantization',
      'training',
      'models',
      'startedAt',
      'finishedAt',
    ]);
    const records = [await store.getJson<TaskRecord>(first.recordRef), await store.getJson<TaskRecord>(second.recordRef)];
    expect(records[1].previousRef).toBe(first.recordRef);
    expect(Object.keys(result.matrices)).toEqual(['fp32', ...spec.quantizers.map((q) => q.id)]);
    expect(result.matrices.fp32).toEqual(records.map((r) => r.rows.fp32));
    expect(result.metrics.fp32).toEqual(summarize(result.matrices.fp32, result.initial));
    expect(result.quantization['rtn-int8'].bucketCrossingRate).toEqual([null, second.models.quantized['rtn-int8'].bucketCrossingRate]);
    expect(result.quantization['rtn-int8'].fixedGridCrossingRate).toEqual([
      null,
      second.models.quantized['rtn-int8'].fixedGridCrossingRate,
    ]);
    expect(second.models.quantized['rtn-int8'].fixedGridCrossingRate).toBeGreaterThan(0);
    expect(result.models).toEqual([first.models, second.models]);
    expect(result.training.map((t) => t.steps)).toEqual([16, 16]);

    // A chain that does not reach back to task 0 is damage, named as such.
    const broken = inActivity(() => activities.finishRun({ state: { ...state, nextTask: 3 } })).result;
    await expect(broken).rejects.toThrow(/task records: artifact sha256:[0-9a-f]+ holds task 1 where task 2 was expected/);
  });

  test("the spec's other evaluators reach the task record and results.json, per model, as matrices", async () => {
    // Reads one logit of the model it is given, so fp32 and int4 differ where they should.
    const probe = definePlugin({
      kind: 'evaluator',
      name: 'test-probe',
      version: '0.0.0',
      description: 'test only: the test-set size and the first logit of the first test sample',
      configSchema: z.strictObject({}),
      evaluate: async ({ task, predict }) => ({
        samples: task.test.n,
        firstLogit: (await predict(task.test.gather(Int32Array.from([0])), 1))[0],
      }),
    });
    const registry = new PluginRegistry([...builtinPlugins, probe]);
    const probed = registry.validateSpec({ ...spec, evaluators: ['accuracy', 'test-probe'] });
    const probing = createActivities({ registry, artifacts: store });
    const finished = await inActivity(() => probing.finishTask({ spec: probed, taskIndex: 0, trained })).result;
    const record = await store.getJson<TaskRecord>(finished.recordRef);
    const ids = ['fp32', ...probed.quantizers.map((q) => q.id)];
    expect(Object.keys(record.evaluations!)).toEqual(ids);
    for (const id of ids) expect(record.evaluations![id]['test-probe.samples']).toEqual([300, 300]);
    const firstLogit = (id: string) => record.evaluations![id]['test-probe.firstLogit'][0];
    expect(Math.abs(firstLogit('fp32')! - firstLogit('rtn-int8')!)).toBeLessThan(0.05);
    expect(firstLogit('rtn-int4')).not.toBe(firstLogit('fp32'));
    // Accuracy rows are the same as without the probe.
    const plain = await store.getJson<TaskRecord>(
      (await inActivity(() => activities.finishTask({ spec, taskIndex: 0, trained })).result).recordRef,
    );
    expect(record.rows).toEqual(plain.rows);
    expect(plain.evaluations).toBeUndefined();

    // A second task, then the run's result: each evaluator's rows stacked, row t after task t.
    const trained1 = await inActivity(() => activities.trainTask({ spec, taskIndex: 1, checkpointRef: trained.checkpointRef })).result;
    const second = await inActivity(() => probing.finishTask({ spec: probed, taskIndex: 1, trained: trained1, previous: finished })).result;
    const records = [record, await store.getJson<TaskRecord>(second.recordRef)];
    const started = await inActivity(() => probing.startRun({ spec: probed })).result;
    const state: ExperimentState = {
      runId: 'evaluations-test',
      spec: probed,
      info: started.info,
      nextTask: 2,
      initialCheckpointRef: started.checkpointRef,
      initialRef: started.initialRef,
      last: second,
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    const result = await experimentResultOf(await inActivity(() => probing.finishRun({ state })).result, store);
    for (const id of ids) {
      expect(result.evaluations![id]['test-probe.firstLogit']).toEqual(records.map((r) => r.evaluations![id]['test-probe.firstLogit']));
    }
    expect(result.evaluations!.fp32['test-probe.samples']).toEqual([
      [300, 300],
      [300, 300],
    ]);
  });
});
