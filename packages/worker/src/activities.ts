import { CancelledFailure, Context } from '@temporalio/activity';
import {
  FP32,
  PluginError,
  SpecError,
  type TrainHeartbeat,
  type FinishedTask,
  type FinishRunInput,
  type FinishTaskHeartbeat,
  type FinishTaskInput,
  type ExperimentOutcome,
  type StartRunInput,
  type StartRunOutput,
  type TaskModels,
  type TaskRecord,
  type ConsolidateInput,
  type ConsolidateOutput,
  type EvaluateInput,
  type EvaluateOutput,
  type ExperimentSpec,
  type MethodContext,
  type PluginRegistry,
  type PrepareRunInput,
  type PrepareRunOutput,
  type QuantizedManifest,
  type QuantizeInput,
  type QuantizeOutput,
  type RetainActivities,
  type TrainTaskInput,
  type TrainTaskOutput,
} from '@retain/sdk';
import { buildInferenceModel, deriveSeed, initParams, InferenceSession, type Model, type TensorMap } from '@retain/engine';
import { bucketCrossingRate } from '@retain/metrics';
import type { Scenario } from '@retain/data';
import type { ArtifactStore } from '@retain/artifacts';
import { loadTensors, saveTensors } from './checkpoint';
import { asPluginError, keepAlive } from './liveness';
import { loadTrainCheckpoint, TRAIN_STATE } from './train-state';
import { learnedStepSizes, qatPlanOf, trainThroughQuantizer } from './qat';
import { assembleResult, loadTaskRecords, putOrderedJson } from './run-records';

export interface ActivityDeps {
  registry: PluginRegistry;
  artifacts: ArtifactStore;
}

/**
 * The activities: thin adapters from Temporal to plugins. Each resolves its plugins by name,
 * loads artifacts by ref, calls the plugin, stores what it produced and returns refs and numbers.
 */
export function createActivities({ registry, artifacts }: ActivityDeps): RetainActivities {
  const scenarios = new Map<string, Promise<Scenario>>();

  /** Datasets are loaded once per worker process; a scenario is a cheap view over them. */
  function scenarioOf(spec: ExperimentSpec): Promise<Scenario> {
    const key = JSON.stringify([spec.benchmark, spec.seed]);
    let scenario = scenarios.get(key);
    if (!scenario) {
      scenario = registry.get('benchmark', spec.benchmark.name).scenario(spec.benchmark.config, spec.seed);
      scenarios.set(key, scenario);
      scenario.catch(() => scenarios.delete(key));
    }
    return scenario;
  }

  function modelOf(spec: ExperimentSpec, scenario: Scenario): Model {
    return registry.get('model', spec.model.name).build(spec.model.config, scenario);
  }

  const headOf = (scenario: Scenario, taskIndex: number) => (scenario.heads === 1 ? 0 : taskIndex);

  /** What a method's hooks see on a task: its config, the task, the model and its state artifact. */
  async function methodContextOf(
    spec: ExperimentSpec,
    scenario: Scenario,
    taskIndex: number,
    stateRef: string | undefined,
  ): Promise<MethodContext> {
    return {
      config: spec.method.config,
      seed: spec.seed,
      taskIndex,
      task: scenario.task(taskIndex),
      model: modelOf(spec, scenario),
      head: headOf(scenario, taskIndex),
      taskData: (index) => scenario.task(index),
      state: stateRef ? await loadTensors(artifacts, stateRef, 'method-state') : undefined,
    };
  }

  async function prepare(spec: ExperimentSpec): Promise<PrepareRunOutput> {
    const scenario = await scenarioOf(spec);
    const model = modelOf(spec, scenario);
    const params = initParams(model, deriveSeed(spec.seed, 'init'));
    return {
      info: { taskNames: scenario.taskNames, heads: scenario.heads, classesPerHead: scenario.classesPerHead },
      checkpointRef: await saveTensors(artifacts, params, 'model'),
    };
  }

  async function consolidate({
    spec,
    taskIndex,
    checkpointRef,
    methodStateRef,
    methodStepStateRef,
  }: ConsolidateInput): Promise<ConsolidateOutput> {
    const method = registry.get('method', spec.method.name);
    if (!method.afterTask) return { methodStateRef };
    const scenario = await scenarioOf(spec);
    const methodCtx = await methodContextOf(spec, scenario, taskIndex, methodStateRef);
    const params = await loadTensors(artifacts, checkpointRef, 'model');
    const trained = methodStepStateRef ? await loadTensors(artifacts, methodStepStateRef, 'method-step-state') : undefined;
    const afterTask = method.afterTask.bind(method);
    const next = await asPluginError(
      `method ${method.name}`,
      () => ({ task: taskIndex }),
      () => afterTask({ ...methodCtx, params, trained }),
    );
    return { methodStateRef: next ? await saveTensors(artifacts, next, 'method-state') : methodStateRef };
  }

  async function quantize({ spec, taskIndex, checkpointRef, quantizerId, previousCodesRef }: QuantizeInput): Promise<QuantizeOutput> {
    const ref = spec.quantizers.find((q) => q.id === quantizerId);
    if (!ref) throw new SpecError('quantizers', `no quantizer has id '${quantizerId}'`);
    const scenario = await scenarioOf(spec);
    const model = modelOf(spec, scenario);
    const params = await loadTensors(artifacts, checkpointRef, 'model');
    const quantizer = registry.get('quantizer', ref.name);
    const qat = spec.qat?.quantizer === quantizerId ? qatPlanOf(spec, registry, model) : undefined;
    const { weights, export: exportOptions } = await asPluginError(
      `quantizer ${quantizerId}`,
      () => ({ task: taskIndex }),
      () =>
        quantizer.quantize({
          config: ref.config,
          seed: spec.seed,
          model,
          params,
          head: headOf(scenario, taskIndex),
          calibration: scenario.task(taskIndex).train,
          stepSizes: qat && learnedStepSizes(qat, params),
        }),
    );
    // One ONNX file per head: a task-IL model is evaluated on task j through head j only.
    const heads: string[] = [];
    let bytes = 0;
    for (let h = 0; h < scenario.heads; h++) {
      const onnx = buildInferenceModel(model, h, params, weights, exportOptions);
      if (h === 0) bytes = onnx.byteLength;
      heads.push(await artifacts.put(onnx));
    }
    const manifest: QuantizedManifest = { quantizerId, heads, bytes };
    // The codes, kept to count how many cross a bucket boundary after the next task.
    const codes: TensorMap = Object.fromEntries(
      Object.entries(weights).map(([name, w]) => [name, { dims: [...w.dims], data: Float32Array.from(w.q) }]),
    );
    const codesRef = await saveTensors(artifacts, codes, 'quantized-codes');
    const bucketCrossingRate = previousCodesRef
      ? crossingRateOf(await loadTensors(artifacts, previousCodesRef, 'quantized-codes'), codes)
      : undefined;
    return {
      manifestRef: await artifacts.putJson(manifest),
      bytes,
      codesRef,
      ...(bucketCrossingRate === undefined ? {} : { bucketCrossingRate }),
    };
  }

  /** Every evaluator on every task; `progress` hears of each task done. */
  async function evaluate(
    { spec, checkpointRef, manifestRef }: EvaluateInput,
    progress: (evaluated: number, of: number) => void = () => undefined,
  ): Promise<EvaluateOutput> {
    const scenario = await scenarioOf(spec);
    const model = modelOf(spec, scenario);
    const manifest = manifestRef ? await artifacts.getJson<QuantizedManifest>(manifestRef) : undefined;
    const params = manifest ? undefined : await loadTensors(artifacts, checkpointRef, 'model');
    const evaluators = spec.evaluators.some((e) => e.name === 'accuracy')
      ? spec.evaluators
      : [{ name: 'accuracy', config: {} }, ...spec.evaluators];

    const sessions = new Map<number, InferenceSession>();
    const sessionFor = async (head: number) => {
      let session = sessions.get(head);
      if (!session) {
        const bytes = manifest ? await artifacts.get(manifest.heads[head]) : buildInferenceModel(model, head, params!);
        session = await InferenceSession.create(bytes);
        sessions.set(head, session);
      }
      return session;
    };

    const accuracy: number[] = [];
    const extra: Record<string, number[]> = {};
    try {
      for (let j = 0; j < scenario.tasks; j++) {
        const session = await sessionFor(headOf(scenario, j));
        const predict = async (x: Float32Array, batch: number) => (await session.run(x, batch)).logits;
        for (const e of evaluators) {
          const plugin = registry.get('evaluator', e.name);
          const results = await asPluginError(
            `evaluator ${plugin.name}`,
            () => ({ task: j }),
            () => plugin.evaluate({ config: plugin.configSchema.parse(e.config), task: scenario.task(j), predict }),
          );
          for (const [key, value] of Object.entries(results)) {
            if (key === 'accuracy' && e.name === 'accuracy') accuracy.push(value);
            else (extra[`${e.name}.${key}`] ??= []).push(value);
          }
        }
        progress(j + 1, scenario.tasks);
      }
    } finally {
      await Promise.all([...sessions.values()].map((s) => s.close()));
    }
    return { accuracy, extra };
  }

  return {
    prepareRun: ({ spec }: PrepareRunInput): Promise<PrepareRunOutput> => alive({ phase: 'preparing' }, () => prepare(spec)),

    startRun: ({ spec }: StartRunInput): Promise<StartRunOutput> =>
      alive({ phase: 'preparing' }, async () => {
        const prepared = await prepare(spec);
        // The untrained model's accuracy (b in DESIGN.md §6) is what forward transfer is measured against.
        const initial = await evaluate({ spec, variant: FP32, checkpointRef: prepared.checkpointRef });
        return { ...prepared, initialRef: await putOrderedJson(artifacts, initial.accuracy) };
      }),

    async trainTask(input: TrainTaskInput): Promise<TrainTaskOutput> {
      const { spec, taskIndex, checkpointRef, methodStateRef } = input;
      const ctx = Context.current();
      // The last attempt's heartbeat (a crashed or timed-out worker) or the workflow (a paused task)
      // says where to continue.
      const previous = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      const resumePoint = previous?.taskIndex === taskIndex && previous.checkpoint ? previous.checkpoint : input.resumeFrom;
      let details: TrainHeartbeat = { taskIndex, checkpoint: resumePoint, resumedAt: resumePoint?.step };
      const beat = keepAlive(ctx, () => details);
      try {
        const scenario = await scenarioOf(spec);
        const model = modelOf(spec, scenario);
        const task = scenario.task(taskIndex);
        const params = await loadTensors(artifacts, checkpointRef, 'model');
        const resume = resumePoint ? await loadTrainCheckpoint(artifacts, resumePoint.checkpointRef, spec.seed, taskIndex) : undefined;
        const method = registry.get('method', spec.method.name);
        const methodCtx = await methodContextOf(spec, scenario, taskIndex, methodStateRef);
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
          () => ({ task: taskIndex, step: details.step }),
          () =>
            trainer.train({
              config: spec.trainer.config,
              seed: spec.seed,
              taskIndex,
              task,
              model: trained.model,
              head: headOf(scenario, taskIndex),
              params: trained.params,
              method: training,
              progress: (p) => beat((details = { ...details, ...p })),
              signal: ctx.cancellationSignal,
              resume,
              checkpoint: async (c) => {
                const ref = await saveTensors(artifacts, c.tensors, TRAIN_STATE, {
                  seed: String(spec.seed),
                  task: String(taskIndex),
                  step: String(c.step),
                  samples: String(c.samples),
                  loss: String(c.loss),
                });
                beat((details = { ...details, checkpoint: { checkpointRef: ref, step: c.step } }));
              },
            }),
        ).catch((err: unknown) => {
          // Cancelled (the run was cancelled or paused): hand the last checkpoint to the workflow.
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`training task ${taskIndex} cancelled`, [details]);
          // Name the last good checkpoint's artifact, so a failed task can be inspected or continued from it.
          if (err instanceof PluginError && details.checkpoint) err.message += ` (artifact ${details.checkpoint.checkpointRef})`;
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
      } finally {
        beat.stop();
      }
    },

    consolidate: (input: ConsolidateInput): Promise<ConsolidateOutput> =>
      alive({ taskIndex: input.taskIndex, phase: 'consolidating' }, () => consolidate(input)),

    quantize: (input: QuantizeInput): Promise<QuantizeOutput> =>
      alive({ taskIndex: input.taskIndex, phase: 'quantizing', quantizerId: input.quantizerId }, () => quantize(input)),

    evaluate: (input: EvaluateInput): Promise<EvaluateOutput> => {
      let details: Record<string, unknown> = { variant: input.variant, evaluated: 0, of: undefined };
      const beat = keepAlive(Context.current(), () => details);
      return evaluate(input, (evaluated, of) => beat((details = { variant: input.variant, evaluated, of }))).finally(() => beat.stop());
    },

    /**
     * Everything after a task's training, in one activity (one round trip through Temporal instead
     * of 2 + 2 per quantizer). Its heartbeat names the stage and carries the refs of the stages
     * done, so a retry (a killed worker) skips consolidation and the quantizers it already has;
     * each stage is deterministic and content-addressed, so redoing one gives the same refs.
     */
    async finishTask({ spec, taskIndex, trained, previous }: FinishTaskInput): Promise<FinishedTask> {
      const ctx = Context.current();
      const before = ctx.info.heartbeatDetails as FinishTaskHeartbeat | undefined;
      let details: FinishTaskHeartbeat = before?.taskIndex === taskIndex ? before : { taskIndex, phase: 'consolidating' };
      const beat = keepAlive(ctx, () => details);
      const stage = (next: Partial<FinishTaskHeartbeat>) => beat((details = { ...details, ...next }));
      try {
        const { checkpointRef, methodStepStateRef, ...training } = trained;
        stage({ phase: 'consolidating' });
        const consolidated =
          details.consolidated ??
          (await consolidate({ spec, taskIndex, checkpointRef, methodStateRef: previous?.models.methodStateRef, methodStepStateRef }));
        stage({ consolidated, phase: 'quantizing' });
        const quantized: Record<string, QuantizeOutput> = {};
        for (const q of spec.quantizers) {
          quantized[q.id] =
            details.quantized?.[q.id] ??
            (await quantize({
              spec,
              taskIndex,
              checkpointRef,
              quantizerId: q.id,
              previousCodesRef: previous?.models.quantized[q.id]?.codesRef,
            }));
          stage({ quantized: { ...details.quantized, [q.id]: quantized[q.id] } });
        }
        stage({ phase: 'evaluating' });
        const rows: Record<string, number[]> = {};
        rows[FP32] = (await evaluate({ spec, variant: FP32, checkpointRef })).accuracy;
        for (const q of spec.quantizers) {
          rows[q.id] = (await evaluate({ spec, variant: q.id, checkpointRef, manifestRef: quantized[q.id].manifestRef })).accuracy;
        }
        const models: TaskModels = { checkpointRef, quantized, methodStateRef: consolidated.methodStateRef };
        const record: TaskRecord = { taskIndex, rows, models, training, previousRef: previous?.recordRef };
        return { models, recordRef: await putOrderedJson(artifacts, record) };
      } finally {
        beat.stop();
      }
    },

    finishRun: ({ state }: FinishRunInput): Promise<ExperimentOutcome> =>
      alive({ phase: 'finishing' }, async () => {
        const records = await loadTaskRecords(artifacts, state.last?.recordRef, state.nextTask);
        const initial = await artifacts.getJson<number[]>(state.initialRef);
        const result = assembleResult(state, initial, records, new Date().toISOString());
        return {
          runId: result.runId,
          resultRef: await putOrderedJson(artifacts, result),
          tasks: records.length,
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
          ...(result.resumedFrom ? { resumedFrom: result.resumedFrom } : {}),
        };
      }),
  };
}

/** Runs an activity body with a background heartbeat (see keepAlive) carrying `details`. */
async function alive<T>(details: Record<string, unknown>, body: () => Promise<T>): Promise<T> {
  const beat = keepAlive(Context.current(), () => details);
  try {
    return await body();
  } finally {
    beat.stop();
  }
}

/** Bucket-crossing rate over every quantized weight, in name order; the weights must match. */
function crossingRateOf(previous: TensorMap, current: TensorMap): number {
  const names = Object.keys(current).sort();
  if (Object.keys(previous).sort().join() !== names.join())
    throw new Error(
      `bucket-crossing rate: the previous task quantized [${Object.keys(previous).sort().join(', ')}], this one [${names.join(', ')}]`,
    );
  const join = (m: TensorMap) => Float32Array.from(names.flatMap((n) => Array.from(m[n].data)));
  return bucketCrossingRate(join(previous), join(current));
}
