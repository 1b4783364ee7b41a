import type { ArtifactStore } from '@retain/artifacts';
import type { Scenario } from '@retain/data';
import type { Model } from '@retain/engine';
import { SpecError, targetsMismatch, type ExperimentSpec, type MethodContext, type PluginRegistry } from '@retain/sdk';
import { loadTensors } from './checkpoint';
import { asPluginError, asPluginErrorSync } from './failures';
import { runQuantizer } from './run-quantizer';

/** What a worker's activities are built from. */
export interface ActivityDeps {
  registry: PluginRegistry;
  artifacts: ArtifactStore;
}

/**
 * The plumbing every activity shares: the plugins, the artifact store, and the views of a spec
 * (its scenario, model, head and method context) that each activity would otherwise rebuild.
 */
export interface WorkerContext extends ActivityDeps {
  /** The spec's scenario; datasets load once per worker process, a scenario is a cheap view over them. */
  scenarioOf(spec: ExperimentSpec): Promise<Scenario>;
  /** The run's model: the model plugin's, through the method's `transformModel` (LoRA's kept adapters) when it has one. */
  modelOf(spec: ExperimentSpec, scenario: Scenario): Model;
  /** The model plugin's own model: what quantizers and QAT work on (a method's additions stay float32). */
  plainModelOf(spec: ExperimentSpec, scenario: Scenario): Model;
  /** The head that trains and evaluates task `taskIndex`: 0 unless the scenario has a head per task. */
  headOf(scenario: Scenario, taskIndex: number): number;
  /** What a method's hooks see on a task: its config, the task, the model and its state artifact. */
  methodContextOf(spec: ExperimentSpec, scenario: Scenario, taskIndex: number, stateRef: string | undefined): Promise<MethodContext>;
}

export function createWorkerContext({ registry, artifacts }: ActivityDeps): WorkerContext {
  const scenarios = new Map<string, Promise<Scenario>>();

  const context: WorkerContext = {
    registry,
    artifacts,

    scenarioOf(spec) {
      const key = JSON.stringify([spec.benchmark, spec.seed]);
      let scenario = scenarios.get(key);
      if (!scenario) {
        const benchmark = registry.get('benchmark', spec.benchmark.name);
        // The data layer's errors (a missing or truncated dataset) name the benchmark that read it.
        scenario = asPluginError(
          `benchmark ${benchmark.name}`,
          () => ({}),
          () => benchmark.scenario(spec.benchmark.config, spec.seed),
        );
        scenarios.set(key, scenario);
        // A failed load (a missing dataset) is not cached: the next attempt tries again.
        scenario.catch(() => scenarios.delete(key));
      }
      return scenario;
    },

    plainModelOf: (spec, scenario) => {
      const model = registry.get('model', spec.model.name);
      const built = asPluginErrorSync(`model ${model.name}`, () => model.build(spec.model.config, scenario));
      // Validation checks this only when the benchmark outlines its scenario; startRun always does.
      const mismatch = targetsMismatch(spec, built, scenario);
      if (mismatch) throw mismatch;
      return built;
    },

    modelOf: (spec, scenario) => {
      const plain = context.plainModelOf(spec, scenario);
      if (!registry.get('method', spec.method.name).transformModel) return plain;
      return asPluginErrorSync(`method ${spec.method.name}`, () => registry.methodModel(spec, plain, scenario));
    },

    headOf: (scenario, taskIndex) => (scenario.heads === 1 ? 0 : taskIndex),

    async methodContextOf(spec, scenario, taskIndex, stateRef) {
      const trainer = registry.get('trainer', spec.trainer.name);
      // Methods check their penalty's curvature against it (methods-kit's curvature guard).
      const rule = trainer.updateRule?.(spec.trainer.config);
      return {
        config: spec.method.config,
        seed: spec.seed,
        taskIndex,
        task: scenario.task(taskIndex),
        model: context.modelOf(spec, scenario),
        head: context.headOf(scenario, taskIndex),
        taskData: (index) => scenario.task(index),
        state: stateRef ? await loadTensors(artifacts, stateRef, 'method-state') : undefined,
        quantizeWith: async (quantizerId, params) => {
          if (!spec.quantizers.some((q) => q.id === quantizerId))
            throw new SpecError(
              'method.config',
              `'${quantizerId}' is not the id of a quantizer in this spec; use one of ${spec.quantizers.map((q) => q.id).join(', ') || 'none'}`,
            );
          return (await runQuantizer(context, spec, scenario, quantizerId, params, taskIndex)).weights;
        },
        ...(rule ? { trainer: rule } : {}),
      };
    },
  };
  return context;
}
