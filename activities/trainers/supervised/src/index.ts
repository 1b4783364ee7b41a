import { definePlugin, PluginError, type TrainContext, type TrainOutcome } from '@retain/sdk';
import { buildStepGraph, initOptimizerState, learningRate, TrainSession, type TensorMap } from '@retain/engine';
import { batchOrder } from '@retain/data';
import { supervisedConfigSchema, type SupervisedConfig } from './config';
import { methodBatch, methodInputs, methodStateAfter } from './method-hooks';

export { supervisedConfigSchema, type SupervisedConfig } from './config';

/** How often the trainer reports progress (and so heartbeats), at most. */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Plain supervised training: mini-batches in a seeded order, one fused ONNX step graph
 * (forward, loss + the method's terms, backward, optimizer update) per batch.
 */
export const supervisedTrainer = definePlugin({
  kind: 'trainer',
  name: 'supervised',
  version: '0.1.0',
  description: 'Mini-batch supervised training with SGD (momentum), Adam or AdamW, lr schedules, fixed epochs or steps per task.',
  configSchema: supervisedConfigSchema,
  train: (ctx: TrainContext<SupervisedConfig>) => trainSupervised(ctx),
});

export async function trainSupervised(ctx: TrainContext<SupervisedConfig>): Promise<TrainOutcome> {
  const { config, task, model, head } = ctx;
  const started = Date.now();
  const trainable = ctx.method.trainable ?? model.paramsForHead(head);
  const step = buildStepGraph({ model, head, optimizer: config.optimizer, trainable, method: ctx.method.step });
  const specs = model.params.filter((p) => trainable.includes(p.name));
  // Buffers (batch-norm statistics, dropout counters) ride along with the params and come back updated.
  const carried = [...trainable, ...step.bufferNames];
  const fresh: TensorMap = {
    ...pick(ctx.params, [...step.paramNames, ...step.bufferNames]),
    ...initOptimizerState(config.optimizer, specs),
    ...methodInputs(ctx.method, step),
  };
  // The method scales the base rate for the task (adaptive-lr); the schedule then shapes it per step.
  const baseLr = config.lr * (ctx.method.lrScale ?? 1);

  const data = task.train;
  const batchSize = Math.min(config.batchSize, data.n);
  const stepsPerEpoch = Math.ceil(data.n / batchSize);
  const totalSteps = config.steps ?? stepsPerEpoch * config.epochs;
  const resume = ctx.resume;
  if (resume && (resume.step < 0 || resume.step > totalSteps)) {
    throw new PluginError('trainer supervised', `cannot resume at step ${resume.step}: this task has ${totalSteps} steps`, {
      task: ctx.taskIndex,
    });
  }
  // A checkpoint holds whatever the session held, so resuming restores it all without knowing
  // what it is (optimizer moments today, method accumulators tomorrow).
  const initial: TensorMap = resume ? { ...fresh, ...resume.tensors } : fresh;
  const features = data.inputDims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(batchSize * features);
  const y = new Int32Array(batchSize);
  const session = await TrainSession.create(step, initial);
  // Throughput counts steps only; graph building and session start-up are in `seconds`.
  const stepsStarted = Date.now();
  const firstStep = resume?.step ?? 0;
  let loss = resume?.loss ?? NaN;
  let samples = resume?.samples ?? 0;
  let lastCheckpoint = { step: firstStep, at: Date.now() };
  const saveCheckpoint = async (s: number) => {
    if (!ctx.checkpoint || s === lastCheckpoint.step) return;
    await ctx.checkpoint({ step: s, tensors: await session.read(), samples, loss });
    lastCheckpoint = { step: s, at: Date.now() };
  };
  const checkpointDue = (s: number) =>
    (config.checkpointEvery !== undefined && s % config.checkpointEvery === 0) ||
    (config.checkpointSeconds > 0 && Date.now() - lastCheckpoint.at >= config.checkpointSeconds * 1000);
  try {
    let order = batchOrder(data.n, ctx.seed, ctx.taskIndex, Math.floor(firstStep / stepsPerEpoch));
    let lastReport = 0;
    for (let s = firstStep; s < totalSteps; s++) {
      if (ctx.signal.aborted) {
        // Cancelled or paused: keep what was computed, so continuing later loses nothing.
        await saveCheckpoint(s);
        throw ctx.signal.reason ?? new Error('training cancelled');
      }
      const epoch = Math.floor(s / stepsPerEpoch);
      const offset = (s % stepsPerEpoch) * batchSize;
      if (offset === 0 && s > firstStep) order = batchOrder(data.n, ctx.seed, ctx.taskIndex, epoch);
      const indices = order.subarray(offset, Math.min(offset + batchSize, data.n));
      const b = indices.length;
      data.gather(indices, x);
      for (let i = 0; i < b; i++) y[i] = data.labels[indices[i]];
      const lr = learningRate(config.schedule, baseLr, s, totalSteps);
      const { batch, feeds } = methodBatch(ctx.method, s, { x: x.subarray(0, b * features), y: y.subarray(0, b), size: b });
      const stepLoss = await session.step(
        batch.x.subarray(0, batch.size * features),
        batch.y.subarray(0, batch.size),
        batch.size,
        lr,
        feeds,
      );
      if (!Number.isFinite(stepLoss)) {
        // The session's state is already past the bad step; the last saved checkpoint is the last good one.
        throw new PluginError(
          'trainer supervised',
          `loss became ${stepLoss}; lower the learning rate (trainer.config.lr = ${config.lr}${lr === config.lr ? '' : `, ${lr} at this step`})` +
            (ctx.checkpoint ? `; the last good checkpoint is at step ${lastCheckpoint.step}` : ''),
          { task: ctx.taskIndex, step: s },
        );
      }
      loss = stepLoss;
      samples += batch.size;
      const now = Date.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS || s === totalSteps - 1) {
        lastReport = now;
        ctx.progress({ step: s + 1, totalSteps, epoch, loss, samplesPerSec: samples / Math.max(1e-3, (now - stepsStarted) / 1000) });
      }
      // The task's end needs none: the activity stores the final parameters as the task's result.
      if (s + 1 < totalSteps && checkpointDue(s + 1)) await saveCheckpoint(s + 1);
    }
    const trained = await session.read();
    const seconds = (Date.now() - started) / 1000;
    return {
      params: { ...ctx.params, ...pick(trained, carried) },
      steps: totalSteps,
      samples,
      finalLoss: loss,
      seconds,
      methodState: methodStateAfter(trained, step),
    };
  } finally {
    await session.close();
  }
}

function pick(tensors: TensorMap, names: string[]): TensorMap {
  const out: TensorMap = {};
  for (const name of names) {
    const t = tensors[name];
    if (!t) throw new Error(`parameter '${name}' is missing from the checkpoint`);
    out[name] = t;
  }
  return out;
}
