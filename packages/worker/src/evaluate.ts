import { buildInferenceModel, InferenceSession } from '@retain/engine';
import type { ArtifactRef, ExperimentSpec, Predict, QuantizedManifest } from '@retain/sdk';
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

  // A batch whose activations would pass EVALUATION_CALL_BYTES runs as several calls (a
  // transformer on long inputs); smaller ones, every example spec's, run as one call as before.
  const callLimit = ctx.registry.evaluationBatchLimit(spec, scenario, model);
  const toEvaluate = tasks ?? Array.from({ length: scenario.tasks }, (_, j) => j);
  const bad = toEvaluate.find((j) => !Number.isInteger(j) || j < 0 || j >= scenario.tasks);
  if (bad !== undefined) throw new Error(`evaluateModel: task ${bad} is not one of the scenario's ${scenario.tasks} tasks`);
  const unevaluated = () => new Array<number | null>(scenario.tasks).fill(null);
  const accuracy = unevaluated();
  const extra: Record<string, Array<number | null>> = {};
  try {
    for (const [done, j] of toEvaluate.entries()) {
      const session = await sessionFor(ctx.headOf(scenario, j));
      const predict = splitBatches(async (x: Float32Array, batch: number) => (await session.run(x, batch)).logits, callLimit);
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

/** `predict` in calls of at most `limit` examples, their logits concatenated: the same rows as one call. */
export function splitBatches(predict: Predict, limit: number): Predict {
  return async (x, batch) => {
    if (batch <= limit) return predict(x, batch);
    const perExample = x.length / batch;
    const parts: Float32Array[] = [];
    for (let start = 0; start < batch; start += limit) {
      const n = Math.min(limit, batch - start);
      parts.push(await predict(x.slice(start * perExample, (start + n) * perExample), n));
    }
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  };
}
