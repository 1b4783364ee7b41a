import { Context } from '@temporalio/activity';
import { buildInferenceModel, codesOnFixedGrid, matrixView, type QuantizedWeight, type TensorMap } from '@retain/engine';
import { bucketCrossingRate } from '@retain/metrics';
import {
  evaluatedTasks,
  evaluationTasksOf,
  FP32,
  type ArtifactRef,
  type ConsolidateOutput,
  type ExperimentSpec,
  type FinishedTask,
  type FinishTaskHeartbeat,
  type FinishTaskInput,
  type QuantizedManifest,
  type QuantizeOutput,
  type TaskModels,
  type TaskRecord,
} from '@retain/sdk';
import { loadCheckpoint, loadTensors, saveTensors } from './checkpoint';
import type { WorkerContext } from './context';
import { evaluateModel } from './evaluate';
import { asPluginError } from './failures';
import { withHeartbeat } from './liveness';
import { learnedStepSizes, qatPlanOf } from './qat';
import { methodFisherOf } from './method-fisher';
import { putOrderedJson } from './run-records';
import { runQuantizer } from './run-quantizer';

/**
 * Everything after a task's training, in one activity (one round trip through Temporal per task):
 * the method's consolidation, every quantizer, the evaluation with the fp32 and each quantized
 * model of the tasks the spec's evaluation policy names (every task by default), and the task's
 * record. Its heartbeat names the stage and carries the refs of the stages done, so a retry (a
 * killed worker) skips consolidation and the quantizers it already has; each stage is
 * deterministic and content-addressed (the policy's sample too), so redoing one gives the same refs.
 */
export async function finishTask(ctx: WorkerContext, input: FinishTaskInput): Promise<FinishedTask> {
  const { spec, taskIndex, trained, previous } = input;
  const before = Context.current().info.heartbeatDetails as FinishTaskHeartbeat | undefined;
  const start: FinishTaskHeartbeat = before?.taskIndex === taskIndex ? before : { taskIndex, phase: 'consolidating' };
  return withHeartbeat(start, async (heartbeat) => {
    const stage = (next: Partial<FinishTaskHeartbeat>) => heartbeat.update({ ...heartbeat.details, ...next });
    const { checkpointRef, methodStepStateRef, ...training } = trained;
    stage({ phase: 'consolidating' });
    const consolidated =
      heartbeat.details.consolidated ??
      (await consolidate(ctx, { spec, taskIndex, checkpointRef, methodStateRef: previous?.models.methodStateRef, methodStepStateRef }));
    stage({ consolidated, phase: 'quantizing' });
    const quantized: Record<string, QuantizeOutput> = {};
    for (const q of spec.quantizers) {
      quantized[q.id] =
        heartbeat.details.quantized?.[q.id] ??
        (await quantize(ctx, {
          spec,
          taskIndex,
          checkpointRef,
          quantizerId: q.id,
          previousCodesRef: previous?.models.quantized[q.id]?.codesRef,
          fixedGridRef: previous?.models.quantized[q.id]?.fixedGridRef,
          previousCheckpointRef: previous?.models.checkpointRef,
          methodStateRef: consolidated.methodStateRef,
        }));
      stage({ quantized: { ...heartbeat.details.quantized, [q.id]: quantized[q.id] } });
    }
    stage({ phase: 'evaluating' });
    const tasks = evaluatedTasks(evaluationTasksOf(spec), taskIndex, (await ctx.scenarioOf(spec)).tasks, spec.seed);
    const rows: TaskRecord['rows'] = {};
    const evaluations: NonNullable<TaskRecord['evaluations']> = {};
    const models: TaskModels = { checkpointRef, quantized, methodStateRef: consolidated.methodStateRef };
    const variants = [
      { key: FP32, manifestRef: undefined },
      ...spec.quantizers.map((q) => ({ key: q.id, manifestRef: quantized[q.id].manifestRef })),
    ];
    for (const { key, manifestRef } of variants) {
      const { accuracy, extra } = await evaluateModel(ctx, { spec, checkpointRef, manifestRef, tasks });
      rows[key] = accuracy;
      if (Object.keys(extra).length) evaluations[key] = extra;
    }
    const record: TaskRecord = {
      taskIndex,
      rows,
      ...(Object.keys(evaluations).length ? { evaluations } : {}),
      models,
      training,
      previousRef: previous?.recordRef,
    };
    return { models, recordRef: await putOrderedJson(ctx.artifacts, record) };
  });
}

export interface ConsolidateInput {
  spec: ExperimentSpec;
  taskIndex: number;
  checkpointRef: ArtifactRef;
  methodStateRef?: ArtifactRef;
  /** What trainTask returned as `methodStepStateRef`. */
  methodStepStateRef?: ArtifactRef;
}

/** The method's afterTask hook (a Fisher, a buffer): its new state, or the old one when it has no hook or returns none. */
export async function consolidate(ctx: WorkerContext, input: ConsolidateInput): Promise<ConsolidateOutput> {
  const { spec, taskIndex, checkpointRef, methodStateRef, methodStepStateRef } = input;
  const method = ctx.registry.get('method', spec.method.name);
  if (!method.afterTask) return { methodStateRef };
  const scenario = await ctx.scenarioOf(spec);
  const methodCtx = await ctx.methodContextOf(spec, scenario, taskIndex, methodStateRef);
  const params = await loadTensors(ctx.artifacts, checkpointRef, 'model');
  const trained = methodStepStateRef ? await loadTensors(ctx.artifacts, methodStepStateRef, 'method-step-state') : undefined;
  const afterTask = method.afterTask.bind(method);
  const next = await asPluginError(
    `method ${method.name}`,
    () => ({ task: taskIndex }),
    () => afterTask({ ...methodCtx, params, trained }),
  );
  return { methodStateRef: next ? await saveTensors(ctx.artifacts, next, 'method-state') : methodStateRef };
}

export interface QuantizeInput {
  spec: ExperimentSpec;
  taskIndex: number;
  checkpointRef: ArtifactRef;
  quantizerId: string;
  /** The same quantizer's codes after the previous task, for the bucket-crossing rate. */
  previousCodesRef?: ArtifactRef;
  /** The same quantizer's grid of the run's first task (`QuantizeOutput.fixedGridRef`); absent on the first task. */
  fixedGridRef?: ArtifactRef;
  /** The previous task's checkpoint: its weights on the fixed grid are compared with this task's. */
  previousCheckpointRef?: ArtifactRef;
  /** The method's state after this task's consolidation: its Fisher is the quantizer's `methodFisher`. */
  methodStateRef?: ArtifactRef;
}

/** One quantizer on the task's checkpoint: an ONNX model per head (in a manifest), its codes and their bucket-crossing rate. */
export async function quantize(ctx: WorkerContext, input: QuantizeInput): Promise<QuantizeOutput> {
  const { spec, taskIndex, checkpointRef, quantizerId, previousCodesRef, fixedGridRef, previousCheckpointRef, methodStateRef } = input;
  const { artifacts } = ctx;
  const scenario = await ctx.scenarioOf(spec);
  // Quantizers quantize the model plugin's weights; the export is the run's model (a method's
  // kept adapters read as W + s A B, in float32, on the quantized W).
  const model = ctx.modelOf(spec, scenario);
  const plain = ctx.plainModelOf(spec, scenario);
  const params = await loadTensors(artifacts, checkpointRef, 'model');
  const qat = spec.qat?.quantizer === quantizerId ? qatPlanOf(spec, ctx.registry, plain) : undefined;
  const { weights, export: exportOptions } = await runQuantizer(ctx, spec, scenario, quantizerId, params, taskIndex, {
    stepSizes: qat && learnedStepSizes(qat, params),
    methodFisher: async () =>
      methodStateRef ? methodFisherOf(await loadTensors(artifacts, methodStateRef, 'method-state'), model.params) : undefined,
  });
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
  const crossingRate = previousCodesRef
    ? crossingRateOf(await loadTensors(artifacts, previousCodesRef, 'quantized-codes'), codes)
    : undefined;
  // The first task's grid, kept to count crossings on it after every later task (scale drift aside).
  const fixedGridCrossingRate =
    fixedGridRef && previousCheckpointRef
      ? fixedGridCrossingRateOf(
          await loadFixedGrid(artifacts, fixedGridRef),
          await loadTensors(artifacts, previousCheckpointRef, 'model'),
          params,
        )
      : undefined;
  return {
    manifestRef: await artifacts.putJson(manifest),
    bytes,
    codesRef,
    ...(crossingRate === undefined ? {} : { bucketCrossingRate: crossingRate }),
    fixedGridRef: fixedGridRef ?? (await saveFixedGrid(artifacts, weights)),
    ...(fixedGridCrossingRate === undefined ? {} : { fixedGridCrossingRate }),
  };
}

/** A quantization's grid, without its codes: what `codesOnFixedGrid` needs of each weight. */
type FixedGrid = Record<string, Pick<QuantizedWeight, 'bits' | 'dims' | 'granularity' | 'blockSize' | 'scale' | 'zeroPoint'>>;

/** The grid as a tensors artifact: `<weight>.scale` (and `<weight>.zeroPoint`) tensors, the rest in its metadata. */
function saveFixedGrid(artifacts: WorkerContext['artifacts'], weights: FixedGrid): Promise<ArtifactRef> {
  const tensors: TensorMap = {};
  const layout: Record<string, Pick<QuantizedWeight, 'bits' | 'dims' | 'granularity' | 'blockSize'>> = {};
  for (const [name, w] of Object.entries(weights)) {
    tensors[`${name}.scale`] = { dims: [w.scale.length], data: Float32Array.from(w.scale) };
    if (w.zeroPoint) tensors[`${name}.zeroPoint`] = { dims: [w.zeroPoint.length], data: Float32Array.from(w.zeroPoint) };
    layout[name] = {
      bits: w.bits,
      dims: w.dims,
      granularity: w.granularity,
      ...(w.blockSize === undefined ? {} : { blockSize: w.blockSize }),
    };
  }
  return saveTensors(artifacts, tensors, FIXED_GRID_KIND, { layout: JSON.stringify(layout) });
}

async function loadFixedGrid(artifacts: WorkerContext['artifacts'], ref: ArtifactRef): Promise<FixedGrid> {
  const { tensors, metadata } = await loadCheckpoint(artifacts, ref, FIXED_GRID_KIND);
  const layout = JSON.parse(metadata.layout ?? '{}') as Record<
    string,
    Pick<QuantizedWeight, 'bits' | 'dims' | 'granularity' | 'blockSize'>
  >;
  return Object.fromEntries(
    Object.entries(layout).map(([name, l]) => {
      const zeroPoint = tensors[`${name}.zeroPoint`];
      return [name, { ...l, scale: tensors[`${name}.scale`].data, ...(zeroPoint ? { zeroPoint: Uint8Array.from(zeroPoint.data) } : {}) }];
    }),
  );
}

const FIXED_GRID_KIND = 'quantization-grid';

/** Share of weights whose code on the fixed grid differs between two checkpoints, over every weight of the grid in name order. */
function fixedGridCrossingRateOf(grid: FixedGrid, previous: TensorMap, current: TensorMap): number {
  const names = Object.keys(grid).sort();
  const codes = (params: TensorMap, which: string) =>
    Int32Array.from(
      names.flatMap((name) => {
        if (!params[name])
          throw new Error(`fixed-grid crossing rate: the ${which} checkpoint has no weight '${name}', which the first task quantized`);
        return Array.from(codesOnFixedGrid(matrixView(name, params[name]), grid[name]));
      }),
    );
  return bucketCrossingRate(codes(previous, 'previous task'), codes(current, "this task's"));
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
