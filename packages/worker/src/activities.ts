import { Context } from '@temporalio/activity';
import {
  SpecError,
  type ConsolidateInput,
  type ConsolidateOutput,
  type EvaluateInput,
  type EvaluateOutput,
  type ExperimentSpec,
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
import { buildInferenceModel, deriveSeed, initParams, InferenceSession, type Model } from '@retain/engine';
import type { Scenario } from '@retain/data';
import type { ArtifactStore } from '@retain/artifacts';
import { loadTensors, saveTensors } from './checkpoint';
import { learnedStepSizes, qatPlanOf, trainThroughQuantizer } from './qat';

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

  return {
    async prepareRun({ spec }: PrepareRunInput): Promise<PrepareRunOutput> {
      const scenario = await scenarioOf(spec);
      const model = modelOf(spec, scenario);
      const params = initParams(model, deriveSeed(spec.seed, 'init'));
      return {
        info: { taskNames: scenario.taskNames, heads: scenario.heads, classesPerHead: scenario.classesPerHead },
        checkpointRef: await saveTensors(artifacts, params, 'model'),
      };
    },

    async trainTask({ spec, taskIndex, checkpointRef, methodStateRef }: TrainTaskInput): Promise<TrainTaskOutput> {
      const ctx = Context.current();
      const scenario = await scenarioOf(spec);
      const model = modelOf(spec, scenario);
      const task = scenario.task(taskIndex);
      const params = await loadTensors(artifacts, checkpointRef, 'model');
      const state = methodStateRef ? await loadTensors(artifacts, methodStateRef, 'method-state') : undefined;
      const method = registry.get('method', spec.method.name);
      const methodCtx = { config: spec.method.config, seed: spec.seed, taskIndex, task, model, state };
      const trainer = registry.get('trainer', spec.trainer.name);
      // Under QAT the trainer sees the model through the quantizer; methods keep the plain one.
      const qat = qatPlanOf(spec, registry, model);
      const trained = qat ? trainThroughQuantizer(qat, model, params) : { model, params };
      const outcome = await trainer.train({
        config: spec.trainer.config,
        seed: spec.seed,
        taskIndex,
        task,
        model: trained.model,
        head: headOf(scenario, taskIndex),
        params: trained.params,
        method: method.training?.(methodCtx) ?? {},
        progress: (p) => ctx.heartbeat({ taskIndex, ...p }),
        signal: ctx.cancellationSignal,
      });
      return {
        checkpointRef: await saveTensors(artifacts, outcome.params, 'model'),
        steps: outcome.steps,
        samples: outcome.samples,
        seconds: outcome.seconds,
        finalLoss: outcome.finalLoss,
        samplesPerSec: outcome.samples / Math.max(outcome.seconds, 1e-9),
      };
    },

    async consolidate({ spec, taskIndex, checkpointRef, methodStateRef }: ConsolidateInput): Promise<ConsolidateOutput> {
      const method = registry.get('method', spec.method.name);
      if (!method.afterTask) return { methodStateRef };
      const scenario = await scenarioOf(spec);
      const state = methodStateRef ? await loadTensors(artifacts, methodStateRef, 'method-state') : undefined;
      const next = await method.afterTask({
        config: spec.method.config,
        seed: spec.seed,
        taskIndex,
        task: scenario.task(taskIndex),
        model: modelOf(spec, scenario),
        state,
        params: await loadTensors(artifacts, checkpointRef, 'model'),
      });
      return { methodStateRef: next ? await saveTensors(artifacts, next, 'method-state') : methodStateRef };
    },

    async quantize({ spec, taskIndex, checkpointRef, quantizerId }: QuantizeInput): Promise<QuantizeOutput> {
      const ref = spec.quantizers.find((q) => q.id === quantizerId);
      if (!ref) throw new SpecError('quantizers', `no quantizer has id '${quantizerId}'`);
      const scenario = await scenarioOf(spec);
      const model = modelOf(spec, scenario);
      const params = await loadTensors(artifacts, checkpointRef, 'model');
      const qat = spec.qat?.quantizer === quantizerId ? qatPlanOf(spec, registry, model) : undefined;
      const { weights } = await registry.get('quantizer', ref.name).quantize({
        config: ref.config,
        seed: spec.seed,
        model,
        params,
        calibration: scenario.task(taskIndex).train,
        stepSizes: qat && learnedStepSizes(qat, params),
      });
      // One ONNX file per head: a task-IL model is evaluated on task j through head j only.
      const heads: string[] = [];
      let bytes = 0;
      for (let h = 0; h < scenario.heads; h++) {
        const onnx = buildInferenceModel(model, h, params, weights);
        if (h === 0) bytes = onnx.byteLength;
        heads.push(await artifacts.put(onnx));
      }
      const manifest: QuantizedManifest = { quantizerId, heads, bytes };
      return { manifestRef: await artifacts.putJson(manifest), bytes };
    },

    async evaluate({ spec, variant, checkpointRef, manifestRef }: EvaluateInput): Promise<EvaluateOutput> {
      const ctx = Context.current();
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
            const results = await plugin.evaluate({
              config: plugin.configSchema.parse(e.config),
              task: scenario.task(j),
              predict,
            });
            for (const [key, value] of Object.entries(results)) {
              if (key === 'accuracy' && e.name === 'accuracy') accuracy.push(value);
              else (extra[`${e.name}.${key}`] ??= []).push(value);
            }
          }
          ctx.heartbeat({ variant, evaluated: j + 1, of: scenario.tasks });
        }
      } finally {
        await Promise.all([...sessions.values()].map((s) => s.close()));
      }
      return { accuracy, extra };
    },
  };
}
