import type { ArtifactStore } from '@retain/artifacts';
import { ArtifactKindError, type TrainCheckpoint } from '@retain/sdk';
import { loadCheckpoint } from './checkpoint';

/** Checkpoint kind of a trainer's mid-task state (see TrainCheckpoint). */
export const TRAIN_STATE = 'train-state';

/**
 * Loads a mid-task checkpoint and checks that it belongs to this run's seed and task: resuming
 * another task's state would silently change the numbers.
 */
export async function loadTrainCheckpoint(store: ArtifactStore, ref: string, seed: number, taskIndex: number): Promise<TrainCheckpoint> {
  const { tensors, metadata } = await loadCheckpoint(store, ref, TRAIN_STATE);
  if (metadata.seed !== String(seed) || metadata.task !== String(taskIndex)) {
    throw new ArtifactKindError(
      `artifact ${ref} is the training state of seed ${metadata.seed}, task ${metadata.task}; this attempt trains seed ${seed}, task ${taskIndex}`,
    );
  }
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new ArtifactKindError(`artifact ${ref} has no valid 'step' in its metadata`);
  return { step, tensors, samples: Number(metadata.samples), loss: Number(metadata.loss) };
}
