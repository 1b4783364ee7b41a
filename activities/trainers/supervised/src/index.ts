import { definePlugin, PluginError, type TrainContext, type TrainOutcome, type UpdateRule } from '@retain/sdk';
import {
  buildStepGraph,
  initOptimizerState,
  learningRate,
  resolveSessionOptions,
  TrainSession,
  type StepGraph,
  type TensorMap,
} from '@retain/engine';
import { supervisedConfigSchema, type SupervisedConfig } from './config';
import { methodInputs, methodStateAfter } from './method-hooks';
import { RunPlanner, StepBatches } from './runs';

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
  updateRule: (config: SupervisedConfig) => updateRuleOf(config),
  // SGD keeps a momentum buffer per parameter, Adam and AdamW two moments.
  memoryShape: (config: SupervisedConfig) => ({
    batchSize: config.batchSize,
    stepsPerRun: config.stepsPerRun,
    optimizerSlots: config.optimizer.name === 'sgd' ? 1 : 2,
  }),
});

export async function trainSupervised(ctx: TrainContext<SupervisedConfig>): Promise<TrainOutcome> {
  const { config, task, model, head } = ctx;
  const started = Date.now();
  const trainable = ctx.method.trainable ?? model.paramsForHead(head);
  const K = config.stepsPerRun;
  const graphs = stepGraphs(ctx, trainable, K);
  const step = graphs[0];
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

  // A method may widen what the epochs run over (joint's union of every task so far).
  const data = ctx.method.trainingSet ?? task.train;
  const batches = new StepBatches(data, Math.min(config.batchSize, data.n), ctx.seed, ctx.taskIndex, ctx.method);
  const totalSteps = config.steps ?? batches.stepsPerEpoch * config.epochs;
  const resume = ctx.resume;
  if (resume && (resume.step < 0 || resume.step > totalSteps)) {
    throw new PluginError('trainer supervised', `cannot resume at step ${resume.step}: this task has ${totalSteps} steps`, {
      task: ctx.taskIndex,
    });
  }
  // A checkpoint holds whatever the session held, so resuming restores it all without knowing
  // what it is (optimizer moments today, method accumulators tomorrow).
  const initial: TensorMap = resume ? { ...fresh, ...resume.tensors } : fresh;
  const session = await TrainSession.create(graphs, initial);
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
  // Checkpoints happen between runs, so a K-step run must not jump over a step-count checkpoint.
  const fits = (s: number) =>
    s + K <= totalSteps &&
    (config.checkpointEvery === undefined || Math.floor((s + K - 1) / config.checkpointEvery) === Math.floor(s / config.checkpointEvery));
  const planner = new RunPlanner(batches, K, fits);
  try {
    let lastReport = 0;
    for (let s = firstStep; s < totalSteps;) {
      if (ctx.signal.aborted) {
        // Cancelled or paused: keep what was computed, so continuing later loses nothing.
        await saveCheckpoint(s);
        throw ctx.signal.reason ?? new Error('training cancelled');
      }
      const run = planner.next(s);
      const lrs = Array.from({ length: run.count }, (_, k) => learningRate(config.schedule, baseLr, s + k, totalSteps));
      const losses =
        run.count === 1
          ? [await session.step(run.x, run.y, run.size, lrs[0], run.feeds)]
          : Array.from(await session.steps(run.x, run.y, run.size, lrs, run.feeds));
      const bad = losses.findIndex((l) => !Number.isFinite(l));
      if (bad >= 0) {
        // The session's state is already past the bad step; the last saved checkpoint is the last good one.
        const lr = lrs[bad];
        throw new PluginError(
          'trainer supervised',
          `loss became ${losses[bad]}; lower the learning rate (trainer.config.lr = ${config.lr}${lr === config.lr ? '' : `, ${lr} at this step`})` +
            (ctx.checkpoint ? `; the last good checkpoint is at step ${lastCheckpoint.step}` : ''),
          { task: ctx.taskIndex, step: s + bad },
        );
      }
      loss = losses[run.count - 1];
      samples += run.count * run.size;
      s += run.count;
      const now = Date.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS || s === totalSteps) {
        lastReport = now;
        const samplesPerSec = samples / Math.max(1e-3, (now - stepsStarted) / 1000);
        ctx.progress({ step: s, totalSteps, epoch: batches.epochOf(s - 1), loss, samplesPerSec });
      }
      // The task's end needs none: the activity stores the final parameters as the task's result.
      if (s < totalSteps && checkpointDue(s)) await saveCheckpoint(s);
    }
    const trained = await session.read();
    const seconds = (Date.now() - started) / 1000;
    // The task's own samples: a pure function of the step count (a resumed task counts alike).
    const newSamples = batches.samplesBefore(totalSteps);
    return {
      params: { ...ctx.params, ...pick(trained, carried) },
      steps: totalSteps,
      samples,
      ...(newSamples !== samples ? { newSamples } : {}),
      finalLoss: loss,
      seconds,
      methodState: methodStateAfter(trained, step),
    };
  } finally {
    await session.close();
  }
}

/**
 * The update rule methods check their curvature against. Every schedule stays at or below the
 * base lr (warm-up ramps up to it, step and cosine decay from it), so `lr` is the largest step
 * size. A clipped gradient norm bounds the step whatever the curvature, as Adam's normalised
 * step does: no heavy-ball bound then.
 */
export function updateRuleOf(config: SupervisedConfig): UpdateRule {
  const { optimizer, lr } = config;
  const largest = config.schedule.name === 'cosine' ? Math.max(lr, config.schedule.minLr ?? 0) : lr;
  if (optimizer.name !== 'sgd') {
    return { kind: 'bounded', lr: largest, reason: `optimizer ${optimizer.name} normalises each step by its second moment` };
  }
  if (optimizer.maxGradNorm !== undefined) {
    return { kind: 'bounded', lr: largest, reason: `optimizer.maxGradNorm ${optimizer.maxGradNorm} clips every step` };
  }
  return {
    kind: 'heavy-ball',
    lr: largest,
    momentum: optimizer.momentum,
    nesterov: optimizer.nesterov,
    weightDecay: optimizer.weightDecay,
  };
}

/**
 * The step graphs the session holds. K = 1: the one-step graph. K > 1 on the CPU: one Scan graph,
 * which runs any number of steps per run (one included) and loads as fast as the one-step graph.
 * On a GPU provider: the one-step graph and the unrolled K-step graph, the form whose device
 * behaviour was measured (bit-identical, parameters stay on the device for K steps); whether
 * Scan keeps its state on the device there is not measured yet.
 */
function stepGraphs(ctx: TrainContext<SupervisedConfig>, trainable: string[], K: number): StepGraph[] {
  const { model, head, config } = ctx;
  const mixedPrecision =
    config.mixedPrecision === 'off'
      ? undefined
      : { matmul: config.mixedPrecision === 'fp16' ? ('float16' as const) : ('bfloat16' as const), lossScale: config.lossScale };
  const build = (stepsPerRun: number | 'any') =>
    buildStepGraph({ model, head, optimizer: config.optimizer, trainable, method: ctx.method.step, stepsPerRun, mixedPrecision });
  if (K === 1) return [build(1)];
  return resolveSessionOptions().device === 'cpu' ? [build('any')] : [build(1), build(K)];
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
