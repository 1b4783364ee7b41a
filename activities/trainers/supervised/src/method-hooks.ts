import type { Batch, MethodTraining } from '@retain/sdk';
import type { StepGraph, TensorMap, Value } from '@retain/engine';

/**
 * The method's side of the training loop, kept apart from the loop itself: the tensors its step
 * hooks read, the batch each step trains on, and the state it hands back after the task.
 */

/** The method's constants and initial state, checked against what the step graph takes. */
export function methodInputs(method: MethodTraining, step: StepGraph): TensorMap {
  const tensors = method.tensors ?? {};
  const missing = step.methodInputs.filter((n) => !tensors[n]);
  if (missing.length) throw new Error(`the method declared step inputs ${missing.join(', ')} but gave no values in its 'tensors'`);
  const out: TensorMap = {};
  for (const name of step.methodInputs) out[name] = tensors[name];
  return out;
}

/**
 * The batch of step `step`: the method's choice when it has a batch source, else the trainer's.
 * `targets` is labels per sample: a batch of n samples carries n * targets labels.
 */
export function methodBatch(
  method: MethodTraining,
  step: number,
  current: Batch,
  targets = 1,
): { batch: Batch; feeds: Record<string, Value> } {
  if (!method.batches) return { batch: current, feeds: {} };
  const { batch, feeds } = method.batches(step, current);
  if (batch.x.length < batch.size * (current.x.length / Math.max(current.size, 1)) || batch.y.length < batch.size * targets)
    throw new Error(`the method's batch source returned ${batch.size} samples but shorter x or y arrays`);
  return { batch, feeds: feeds ?? {} };
}

/** The method's step state after the task, for its afterTask hook. */
export function methodStateAfter(trained: TensorMap, step: StepGraph): TensorMap | undefined {
  if (!step.methodState.length) return undefined;
  const out: TensorMap = {};
  for (const name of step.methodState) out[name] = trained[name];
  return out;
}
