import { buildInferenceModel, InferenceSession } from '@retain/engine';
import type { ArtifactRef, ExperimentSpec, QuantizedManifest } from '@retain/sdk';
import { loadTensors } from './checkpoint';
import type { WorkerContext } from './context';
import { asPluginError } from './failures';

export interface EvaluateInput {
  spec: ExperimentSpec;
  checkpointRef: ArtifactRef;
  /** Set for a quantized model; absent for fp32. */
  manifestRef?: ArtifactRef;
  /** The tasks to evaluate (`evaluatedTasks` of the spec's policy); absent: every task. */
  tasks?: number[];
}
export interface Evaluation {
  /** Accuracy per task, seen or not, in task order; null for a task not in `tasks`. */
  accuracy: Array<number | null>;
  /** Other evaluators' results by `<evaluator>.<key>`, one value per task (null as in `accuracy`). */
  extra: Record<string, Array<number | null>>;
}

/**
 * Every evaluator of the spec (accuracy always) on each of `tasks` (every task by default), with
 * the fp32 model of `checkpointRef` or the quantized model of `manifestRef`; `progress` hears of
 * each task done. The results have one entry per task of the scenario either way.
 */
export async function evaluateModel(
  ctx: WorkerContext,
  { spec, checkpointRef, manifestRef, tasks }: EvaluateInput,
  progress: (evaluated: number, of: number) => void = () => undefined,
): Promise<Evaluation> {
  const scenario = await ctx.scenarioOf(spec);
  const model = ctx.modelOf(spec, scenario);
  const manifest = manifestRef ? await ctx.artifacts.getJson<QuantizedManifest>(manifestRef) : undefined;
  const params = manifest ? undefined : await loadTensors(ctx.artifacts, checkpointRef, 'model');
  const evaluators = spec.evaluators.some((e) => e.name === 'accuracy')
    ? spec.evaluators
    : [{ name: 'accuracy', config: {} }, ...spec.evaluators];

  // One session per head, opened when a task first needs it.
  const sessions = new Map<number, InferenceSession>();
  const sessionFor = async (head: number) => {
    let session = sessions.get(head);
    if (!session) {
      const bytes = manifest ? await ctx.artifacts.get(manifest.heads[head]) : buildInferenceModel(model, head, params!);
      session = await InferenceSession.create(bytes);
      sessions.set(head, session);
    }
    return session;
  };

  const toEvaluate = tasks ?? Array.from({ length: scenario.tasks }, (_, j) => j);
  const bad = toEvaluate.find((j) => !Number.isInteger(j) || j < 0 || j >= scenario.tasks);
  if (bad !== undefined) throw new Error(`evaluateModel: task ${bad} is not one of the scenario's ${scenario.tasks} tasks`);
  const unevaluated = () => new Array<number | null>(scenario.tasks).fill(null);
  const accuracy = unevaluated();
  const extra: Record<string, Array<number | null>> = {};
  try {
    for (const [done, j] of toEvaluate.entries()) {
      const session = await sessionFor(ctx.headOf(scenario, j));
      const predict = async (x: Float32Array, batch: number) => (await session.run(x, batch)).logits;
      for (const e of evaluators) {
        const plugin = ctx.registry.get('evaluator', e.name);
        const results = await asPluginError(
          `evaluator ${plugin.name}`,
          () => ({ task: j }),
          () => plugin.evaluate({ config: plugin.configSchema.parse(e.config), task: scenario.task(j), predict }),
        );
        for (const [key, value] of Object.entries(results)) {
          if (key === 'accuracy' && e.name === 'accuracy') accuracy[j] = value;
          else (extra[`${e.name}.${key}`] ??= unevaluated())[j] = value;
        }
      }
      progress(done + 1, toEvaluate.length);
    }
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.close()));
  }
  return { accuracy, extra };
}
