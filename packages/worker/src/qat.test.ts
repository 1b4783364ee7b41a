import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { LocalArtifactStore } from '@retain/artifacts';
import { buildEvalGraph, InferenceSession, mlp, Rng, stepSizeName, withFakeQuantization } from '@retain/engine';
import type { QuantizedManifest } from '@retain/sdk';
import { createActivities } from './activities';
import { loadTensors } from './checkpoint';
import { createWorkerContext } from './context';
import { quantize } from './finish-task';
import { defaultRegistry } from './plugins';
import { qatPlanOf } from './qat';

// The QAT path through the real activities: trainTask trains through RTN int4 with LSQ, the
// checkpoint carries the learned steps, and quantize exports on them, so the quantized model
// computes exactly what the training forward computed.
jest.setTimeout(120_000);

const run = <R>(fn: () => Promise<R>) =>
  new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run<[], R, () => Promise<R>>(fn);

test('trainTask with qat.lsq stores learned steps; the QAT quantizer exports a model with the QAT forward its logits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'retain-worker-qat-'));
  try {
    const registry = defaultRegistry();
    const deps = { registry, artifacts: new LocalArtifactStore(dir) };
    const activities = createActivities(deps);
    const spec = registry.validateSpec({
      name: 'worker-qat-test',
      seed: 3,
      benchmark: { name: 'permuted-fmnist', config: { tasks: 1, trainPerTask: 1000, testPerTask: 100 } },
      model: { name: 'mlp', config: { hidden: [32] } },
      trainer: { name: 'supervised', config: { epochs: 1, batchSize: 50, lr: 0.01, optimizer: 'adam' } },
      quantizers: [
        { name: 'rtn', config: { bits: 8 } },
        { id: 'int4', name: 'rtn', config: { bits: 4 } },
      ],
      qat: { quantizer: 'int4', lsq: true },
    });
    const prepared = await run(() => activities.startRun({ spec }));
    const trained = await run(() => activities.trainTask({ spec, taskIndex: 0, checkpointRef: prepared.checkpointRef }));
    const params = await loadTensors(new LocalArtifactStore(dir), trained.checkpointRef, 'model');
    expect(
      Object.keys(params)
        .filter((n) => n.startsWith('qat.'))
        .sort(),
    ).toEqual([stepSizeName('head.0.weight'), stepSizeName('trunk.0.weight')].sort());

    const model = mlp({ inputSize: 784, hidden: [32], heads: 1, classesPerHead: 10 });
    const plan = qatPlanOf(spec, registry, model)!;
    const ctx = createWorkerContext(deps);
    const { manifestRef } = await quantize(ctx, {
      spec,
      taskIndex: 0,
      checkpointRef: trained.checkpointRef,
      quantizerId: 'int4',
    });
    const manifest = await new LocalArtifactStore(dir).getJson<QuantizedManifest>(manifestRef);
    const rng = new Rng(1);
    const batch = 16;
    const x = Float32Array.from({ length: batch * 784 }, () => rng.normal());
    const logits = async (bytes: Uint8Array, feeds = {}) => {
      const session = await InferenceSession.create(bytes, feeds);
      try {
        return (await session.run(x, batch)).logits;
      } finally {
        await session.close();
      }
    };
    const qatForward = await logits(buildEvalGraph(withFakeQuantization(model, plan), 0), params);
    const exported = await logits(await new LocalArtifactStore(dir).get(manifest.heads[0]));
    const scale = Math.max(...Array.from(qatForward, Math.abs));
    // Same codes and steps: equal up to float32 summation order (measured gap: 0).
    expect(Math.max(...Array.from(qatForward, (v, i) => Math.abs(v - exported[i])))).toBeLessThanOrEqual(1e-6 * scale);
    // The int8 quantizer is not the one trained through: it ignores the int4 steps and gives other logits.
    const int8 = await quantize(ctx, { spec, taskIndex: 0, checkpointRef: trained.checkpointRef, quantizerId: 'rtn-int8' });
    const int8Logits = await logits(
      await new LocalArtifactStore(dir).get((await new LocalArtifactStore(dir).getJson<QuantizedManifest>(int8.manifestRef)).heads[0]),
    );
    expect(Math.max(...Array.from(qatForward, (v, i) => Math.abs(v - int8Logits[i])))).toBeGreaterThan(1e-3 * scale);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
