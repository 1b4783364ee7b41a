import { decodeSafetensors, encodeSafetensors, type TensorMap } from '@retain/engine';
import type { ArtifactStore } from '@retain/artifacts';
import { ArtifactKindError } from '@retain/sdk';

/**
 * Model checkpoints in the artifact store: safetensors bytes with a small metadata header so a
 * later version can tell what it is reading.
 */
export const CHECKPOINT_FORMAT = 'retain-checkpoint';
export const CHECKPOINT_VERSION = '1';

/** `extra` metadata (strings) goes into the header; the same tensors and metadata give the same ref. */
export async function saveTensors(
  store: ArtifactStore,
  tensors: TensorMap,
  kind: string,
  extra: Record<string, string> = {},
): Promise<string> {
  return store.put(encodeSafetensors(tensors, { ...extra, format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, kind }));
}

export async function loadTensors(store: ArtifactStore, ref: string, kind: string): Promise<TensorMap> {
  return (await loadCheckpoint(store, ref, kind)).tensors;
}

/** The tensors and the header metadata of a checkpoint of `kind`. */
export async function loadCheckpoint(
  store: ArtifactStore,
  ref: string,
  kind: string,
): Promise<{ tensors: TensorMap; metadata: Record<string, string> }> {
  const bytes = await store.get(ref);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (err) {
    // The engine's message cannot know which artifact it was reading; say it here.
    throw new ArtifactKindError(`artifact ${ref} is not a ${kind} checkpoint: ${(err as Error).message}`, { cause: err });
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== CHECKPOINT_FORMAT || metadata.kind !== kind) {
    throw new ArtifactKindError(
      `artifact ${ref} is not a ${kind} checkpoint (format ${quoted(metadata.format)}, kind ${quoted(metadata.kind)})`,
    );
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new ArtifactKindError(
      `artifact ${ref} is checkpoint version ${metadata.version}; this worker reads version ${CHECKPOINT_VERSION}`,
    );
  }
  return { tensors, metadata };
}

/** A metadata value for a message: quoted when present, `none` when the writer left it out. */
const quoted = (value: string | undefined) => (value === undefined ? 'none' : `'${value}'`);
