import { deriveSeed, initParams } from '@retain/engine';
import type { ExperimentOutcome, FinishRunInput, StartRunInput, StartRunOutput } from '@retain/sdk';
import { saveTensors } from './checkpoint';
import type { WorkerContext } from './context';
import { evaluateModel } from './evaluate';
import { asPluginErrorSync } from './failures';
import { withHeartbeat } from './liveness';
import { assembleResult, loadTaskRecords, putOrderedJson } from './run-records';

/** A run's first activity: its tasks, the untrained model (from the spec's seed) and that model's accuracy on every task. */
export function startRun(ctx: WorkerContext, { spec }: StartRunInput): Promise<StartRunOutput> {
  return withHeartbeat({ phase: 'preparing' }, async () => {
    const scenario = await ctx.scenarioOf(spec);
    // A model too large to allocate fails here, at its first tensor: name the model.
    const model = ctx.modelOf(spec, scenario);
    const params = asPluginErrorSync(`model ${spec.model.name}`, () => initParams(model, deriveSeed(spec.seed, 'init')));
    const checkpointRef = await saveTensors(ctx.artifacts, params, 'model');
    // The untrained model's accuracy (b in the metric definitions) is what forward transfer is measured against.
    const initial = await evaluateModel(ctx, { spec, checkpointRef });
    return {
      info: { taskNames: scenario.taskNames, heads: scenario.heads, classesPerHead: scenario.classesPerHead },
      checkpointRef,
      initialRef: await putOrderedJson(ctx.artifacts, initial.accuracy),
      // The other evaluators' results too (the untrained loss is the loss's b); only when there are any, so accuracy-only runs carry what they did.
      ...(Object.keys(initial.extra).length ? { initialEvaluationsRef: await putOrderedJson(ctx.artifacts, initial.extra) } : {}),
    };
  });
}

/** A run's last activity: walks the task records, assembles matrices and metrics, and stores results.json as an artifact. */
export function finishRun(ctx: WorkerContext, { state }: FinishRunInput): Promise<ExperimentOutcome> {
  return withHeartbeat({ phase: 'finishing' }, async () => {
    const records = await loadTaskRecords(ctx.artifacts, state.last?.recordRef, state.nextTask);
    const initial = await ctx.artifacts.getJson<number[]>(state.initialRef);
    const initialEvaluations = state.initialEvaluationsRef
      ? await ctx.artifacts.getJson<Record<string, Array<number | null>>>(state.initialEvaluationsRef)
      : undefined;
    const result = assembleResult(state, initial, records, new Date().toISOString(), initialEvaluations);
    return {
      runId: result.runId,
      resultRef: await putOrderedJson(ctx.artifacts, result),
      tasks: records.length,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      ...(result.resumedFrom ? { resumedFrom: result.resumedFrom } : {}),
    };
  });
}
