import { NON_RETRYABLE_ERROR_TYPES } from '@retain/sdk';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '@retain/artifacts';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '@retain/engine';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, loadTensors, saveTensors } from './checkpoint';

let dir: string;
let store: LocalArtifactStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retain-worker-checkpoint-'));
  store = new LocalArtifactStore(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tensors = (): TensorMap => ({
  'trunk.0.weight': { dims: [2, 3], data: Float32Array.from([0.5, -1.25, 3, Number.MIN_VALUE, -0, 1e30]) },
  'trunk.0.bias': { dims: [3], data: Float32Array.from([0, 1, 2]) },
});

const bits = (t: { data: Float32Array }) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

describe('model checkpoints in the artifact store', () => {
  test('round-trip bit for bit, under a content-addressed ref with format, version and kind recorded', async () => {
    const ref = await saveTensors(store, tensors(), 'model');
    expect(await saveTensors(store, tensors(), 'model')).toBe(ref);
    const loaded = await loadTensors(store, ref, 'model');
    expect(Object.keys(loaded).sort()).toEqual(['trunk.0.bias', 'trunk.0.weight']);
    for (const [name, t] of Object.entries(tensors())) {
      expect(loaded[name].dims).toEqual(t.dims);
      expect(bits(loaded[name])).toBe(bits(t));
    }
    expect(decodeSafetensors(await store.get(ref)).metadata).toEqual({
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      kind: 'model',
    });
    // The kind is part of the bytes, so the same tensors as method state are another artifact.
    expect(await saveTensors(store, tensors(), 'method-state')).not.toBe(ref);
  });

  test('a checkpoint of another kind is refused, naming the artifact and both kinds', async () => {
    const ref = await saveTensors(store, tensors(), 'method-state');
    await expect(loadTensors(store, ref, 'model')).rejects.toThrow(
      `artifact ${ref} is not a model checkpoint (format '${CHECKPOINT_FORMAT}', kind 'method-state')`,
    );
  });

  test('another checkpoint version is refused, naming both versions', async () => {
    const ref = await store.put(encodeSafetensors(tensors(), { format: CHECKPOINT_FORMAT, version: '2', kind: 'model' }));
    await expect(loadTensors(store, ref, 'model')).rejects.toThrow(
      `artifact ${ref} is checkpoint version 2; this worker reads version ${CHECKPOINT_VERSION}`,
    );
  });

  test('safetensors written by another tool (no Retain metadata) are refused', async () => {
    const ref = await store.put(encodeSafetensors(tensors(), { format: 'pt' }));
    await expect(loadTensors(store, ref, 'model')).rejects.toThrow(`artifact ${ref} is not a model checkpoint (format 'pt', kind none)`);
    // Retrying cannot turn a foreign file into a checkpoint: the workflow must not retry this failure.
    await expect(loadTensors(store, ref, 'model')).rejects.toMatchObject({ name: 'ArtifactKindError' });
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('ArtifactKindError');
    const bare = await store.put(encodeSafetensors(tensors()));
    await expect(loadTensors(store, bare, 'model')).rejects.toThrow(`artifact ${bare} is not a model checkpoint (format none, kind none)`);
  });

  test('an artifact that is not safetensors at all is refused, naming the artifact', async () => {
    const ref = await store.putJson({ quantizerId: 'rtn-int8', heads: [], bytes: 0 });
    const err = await loadTensors(store, ref, 'model').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`artifact ${ref} is not a model checkpoint`);
    expect((err as Error).message).toContain('not a valid safetensors checkpoint');
  });
});
