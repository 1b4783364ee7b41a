import { CancelledFailure, Context } from '@temporalio/activity';
import { PluginError, type TrainHeartbeat, type TrainTaskInput, type TrainTaskOutput } from '@retain/sdk';
import { loadTensors, saveTensors } from './checkpoint';
import type { WorkerContext } from './context';
import { asPluginError, withHeartbeat } from './liveness';
import { qatPlanOf, trainThroughQuantizer } from './qat';
import { loadTrainCheckpoint, TRAIN_STATE } from './train-state';

/**
 * Trains one task with the spec's trainer and the method's training terms, saving mid-task
 * checkpoints into the artifact store and heartbeating their refs. A retry (a crashed or timed-out
 * worker) continues from the checkpoint in the last attempt's heartbeat, a paused task from the one
 * the workflow hands back; either way the task ends with the bytes of an uninterrupted one.
 */
export async function trainTask(ctx: WorkerContext, input: TrainTaskInput): Promise<TrainTaskOutput> {
  const { spec, taskIndex, checkpointRef, methodStateRef } = input;
  const { artifacts, registry } = ctx;
  const activity = Context.current();
  const previous = activity.info.heartbeatDetails as TrainHeartbeat | undefined;
  const resumePoint = previous?.taskIndex === taskIndex && previous.checkpoint ? previous.checkpoint : input.resumeFrom;
  const start: TrainHeartbeat = { taskIndex, checkpoint: resumePoint, resumedAt: resumePoint?.step };

  return withHeartbeat(start, async (heartbeat) => {
    const scenario = await ctx.scenarioOf(spec);
    const model = ctx.modelOf(spec, scenario);
    const params = await loadTensors(artifacts, checkpointRef, 'model');
    const resume = resumePoint ? await loadTrainCheckpoint(artifacts, resumePoint.checkpointRef, spec.seed, taskIndex) : undefined;
    const method = registry.get('method', spec.method.name);
    const methodCtx = await ctx.methodContextOf(spec, scenario, taskIndex, methodStateRef);
    const training = await asPluginError(
      `method ${method.name}`,
      () => ({ task: taskIndex }),
      async () => (await method.training?.(methodCtx)) ?? {},
    );
    const trainer = registry.get('trainer', spec.trainer.name);
    // Under QAT the trainer sees the model through the quantizer; methods keep the plain one.
    const qat = qatPlanOf(spec, registry, model);
    const trained = qat ? trainThroughQuantizer(qat, model, params) : { model, params };
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
    return {
      checkpointRef: await saveTensors(artifacts, outcome.params, 'model'),
      methodStepStateRef: stepState ? await saveTensors(artifacts, stepState, 'method-step-state') : undefined,
      steps: outcome.steps,
      samples: outcome.samples,
      seconds: outcome.seconds,
      finalLoss: outcome.finalLoss,
      samplesPerSec: outcome.samples / Math.max(outcome.seconds, 1e-9),
      ...(resumePoint ? { resumedAt: resumePoint.step } : {}),
    };
  });
}
