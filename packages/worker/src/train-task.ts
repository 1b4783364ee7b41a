import { CancelledFailure, Context } from '@temporalio/activity';
import { ArtifactNotFoundError, type ArtifactStore } from '@retain/artifacts';
import {
  PluginError,
  startAdapter,
  type ArtifactRef,
  type TrainCheckpoint,
  type TrainHeartbeat,
  type TrainResumePoint,
  type TrainTaskInput,
  type TrainTaskOutput,
} from '@retain/sdk';
import { loadTensors, saveTensors } from './checkpoint';
import type { WorkerContext } from './context';
import { asPluginError } from './failures';
import { withHeartbeat } from './liveness';
import { qatPlanOf, trainThroughQuantizer } from './qat';
import { loadTrainCheckpoint, TRAIN_STATE } from './train-state';

/**
 * Trains one task with the spec's trainer and the method's training terms, saving mid-task
 * checkpoints into the artifact store and heartbeating their refs. A retry (a crashed or timed-out
 * worker) continues from the checkpoint in the last attempt's heartbeat, a paused task from the one
 * the workflow hands back; either way the task ends with the bytes of an uninterrupted one.
 *
 * Once the task's final checkpoint is stored, the mid-task checkpoints this attempt wrote (and the
 * one an earlier attempt's heartbeat handed it) are superseded, and deleted: see
 * deleteSupersededCheckpoints for why that is safe.
 */
export async function trainTask(ctx: WorkerContext, input: TrainTaskInput): Promise<TrainTaskOutput> {
  const { spec, taskIndex, checkpointRef, methodStateRef } = input;
  const { artifacts, registry } = ctx;
  const activity = Context.current();
  const previous = activity.info.heartbeatDetails as TrainHeartbeat | undefined;
  const retryPoint = previous?.taskIndex === taskIndex ? previous.checkpoint : undefined;
  const candidates = [retryPoint, input.resumeFrom].filter((p): p is TrainResumePoint => p !== undefined);
  const start: TrainHeartbeat = { taskIndex, checkpoint: candidates[0], resumedAt: candidates[0]?.step };
  // This attempt's mid-task checkpoints, deleted once the final one is stored.
  const written = new Set<ArtifactRef>();

  return withHeartbeat(start, async (heartbeat) => {
    const scenario = await ctx.scenarioOf(spec);
    const model = ctx.modelOf(spec, scenario);
    const params = await loadTensors(artifacts, checkpointRef, 'model');
    const { point: resumePoint, state: resume } = await firstResumable(artifacts, candidates, spec.seed, taskIndex);
    if (resumePoint !== candidates[0]) heartbeat.update({ taskIndex, checkpoint: resumePoint, resumedAt: resumePoint?.step });
    const method = registry.get('method', spec.method.name);
    const methodCtx = await ctx.methodContextOf(spec, scenario, taskIndex, methodStateRef);
    const training = await asPluginError(
      `method ${method.name}`,
      () => ({ task: taskIndex }),
      async () => (await method.training?.(methodCtx)) ?? {},
    );
    const trainer = registry.get('trainer', spec.trainer.name);
    // A method's adapter (LoRA) trains its own params on the model; under QAT the trainer sees the
    // model through the quantizer, planned on the model plugin's model: adapters are not fake-quantized.
    const { adapter } = training;
    const adapted = adapter
      ? await asPluginError(
          `method ${method.name}`,
          () => ({ task: taskIndex }),
          () => startAdapter(adapter, params),
        )
      : { model, params };
    const qat = qatPlanOf(spec, registry, ctx.plainModelOf(spec, scenario));
    const trained = qat ? trainThroughQuantizer(qat, adapted.model, adapted.params) : adapted;
    const outcome = await asPluginError(
      `trainer ${trainer.name}`,
      () => ({ task: taskIndex, step: heartbeat.details.step }),
      () =>
        trainer.train({
          config: spec.trainer.config,
          seed: spec.seed,
          taskIndex,
          task: scenario.task(taskIndex),
          model: trained.model,
          head: ctx.headOf(scenario, taskIndex),
          params: trained.params,
          method: training,
          progress: (p) => heartbeat.update({ ...heartbeat.details, ...p }),
          signal: activity.cancellationSignal,
          resume,
          checkpoint: async (c) => {
            const ref = await saveTensors(artifacts, c.tensors, TRAIN_STATE, {
              seed: String(spec.seed),
              task: String(taskIndex),
              step: String(c.step),
              samples: String(c.samples),
              loss: String(c.loss),
            });
            written.add(ref);
            heartbeat.update({ ...heartbeat.details, checkpoint: { checkpointRef: ref, step: c.step } });
          },
        }),
    ).catch((err: unknown) => {
      const { checkpoint } = heartbeat.details;
      // Cancelled (the run was cancelled or paused): hand the last checkpoint to the workflow.
      if (activity.cancellationSignal.aborted) throw new CancelledFailure(`training task ${taskIndex} cancelled`, [heartbeat.details]);
      // Name the last good checkpoint's artifact, so a failed task can be inspected or continued from it.
      if (err instanceof PluginError && checkpoint) err.message += ` (artifact ${checkpoint.checkpointRef})`;
      throw err;
    });
    const stepState = outcome.methodState && Object.keys(outcome.methodState).length ? outcome.methodState : undefined;
    // The adapter folds its params into the model's (LoRA's merge) before the task's checkpoint.
    const finalParams = adapter
      ? await asPluginError(
          `method ${method.name}`,
          () => ({ task: taskIndex }),
          async () => adapter.finish(outcome.params),
        )
      : outcome.params;
    const finalRef = await saveTensors(artifacts, finalParams, 'model');
    const methodStepStateRef = stepState ? await saveTensors(artifacts, stepState, 'method-step-state') : undefined;
    if (retryPoint) written.add(retryPoint.checkpointRef);
    const keep = [finalRef, methodStepStateRef, checkpointRef, input.resumeFrom?.checkpointRef];
    await deleteSupersededCheckpoints(
      artifacts,
      [...written].filter((ref) => !keep.includes(ref)),
      (message) => activity.log.warn(message),
    );
    return {
      checkpointRef: finalRef,
      methodStepStateRef,
      steps: outcome.steps,
      samples: outcome.samples,
      ...(outcome.newSamples !== undefined && outcome.newSamples !== outcome.samples ? { newSamples: outcome.newSamples } : {}),
      seconds: outcome.seconds,
      finalLoss: outcome.finalLoss,
      samplesPerSec: outcome.samples / Math.max(outcome.seconds, 1e-9),
      ...(resumePoint ? { resumedAt: resumePoint.step } : {}),
    };
  });
}

/**
 * The first of the resume points (the last attempt's heartbeat, then the workflow's) whose
 * checkpoint is still stored, loaded; none when neither is. A checkpoint can be gone because a
 * finished attempt deleted it (see deleteSupersededCheckpoints): training from an earlier point
 * ends with the same bytes, only later, so a missing mid-task checkpoint is not an error.
 */
async function firstResumable(
  artifacts: ArtifactStore,
  candidates: TrainResumePoint[],
  seed: number,
  taskIndex: number,
): Promise<{ point?: TrainResumePoint; state?: TrainCheckpoint }> {
  for (const point of candidates) {
    try {
      return { point, state: await loadTrainCheckpoint(artifacts, point.checkpointRef, seed, taskIndex) };
    } catch (err) {
      if (!(err instanceof ArtifactNotFoundError)) throw err;
      Context.current().log.warn(
        `task ${taskIndex}: the checkpoint at step ${point.step} (${point.checkpointRef}) is gone; training from an earlier point`,
      );
    }
  }
  return {};
}

/**
 * Deletes mid-task (`train-state`) checkpoints superseded by the task's final checkpoint. Why this
 * cannot lose anything a run needs:
 * - Only checkpoints this task wrote are candidates (this attempt's, and the one the last attempt's
 *   heartbeat named); never the final checkpoint, the method's step state, the input checkpoint, or
 *   the one the workflow handed in from a pause (`resumeFrom`, which the run's history names).
 * - They are deleted after the final checkpoint is stored. A crash before the deletion leaves them
 *   as garbage for `retain gc`; a crash after it (before Temporal records the completion) gives a
 *   retry whose heartbeat names a deleted checkpoint, and firstResumable then trains from an earlier
 *   point, to the same bytes.
 * - A train-state checkpoint holds the seed, task, step, loss and optimizer state in its bytes, so
 *   another record can name the same ref only if it trained the same spec to the same step: another
 *   run of the same spec, which resumes from an earlier point in the same way if it ever needs it.
 * - A cancelled or paused task deletes nothing: its last checkpoint is what it hands the workflow.
 * A failed deletion is only logged: the checkpoint stays, as garbage for `retain gc`.
 */
async function deleteSupersededCheckpoints(artifacts: ArtifactStore, refs: ArtifactRef[], warn: (message: string) => void): Promise<void> {
  await Promise.all(
    refs.map((ref) =>
      artifacts.delete(ref).catch((err: unknown) => warn(`could not delete the superseded checkpoint ${ref}: ${(err as Error).message}`)),
    ),
  );
}
