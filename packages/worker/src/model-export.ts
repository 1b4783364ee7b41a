import { buildInferenceModel, InferenceSession } from '@retain/engine';
import { FP32, type ExperimentSpec, type QuantizedManifest, type TaskModels } from '@retain/sdk';
import { loadTensors } from './checkpoint';
import type { WorkerContext } from './context';

export interface ExportModelInput {
  spec: ExperimentSpec;
  taskIndex: number;
  /** The models of that task (its record's `models`). */
  models: TaskModels;
  /** `fp32` or a quantizer id of the spec. */
  model: string;
  /** The head to export; default: the one that evaluates task `taskIndex`. */
  head?: number;
}

/**
 * The ONNX inference model of one task's fp32 or quantized model, as the evaluation ran it
 * (evaluateModel): a quantized model's stored head model byte for byte, or the fp32 model built
 * from the task's checkpoint. Checked to load in onnxruntime before it is returned.
 */
export async function exportModel(ctx: WorkerContext, { spec, taskIndex, models, model, head }: ExportModelInput): Promise<Uint8Array> {
  const scenario = await ctx.scenarioOf(spec);
  const h = head ?? ctx.headOf(scenario, taskIndex);
  if (!Number.isInteger(h) || h < 0 || h >= scenario.heads)
    throw new Error(`--head ${head}: the model has ${scenario.heads} head${scenario.heads === 1 ? '' : 's'} (0..${scenario.heads - 1})`);
  let bytes: Uint8Array;
  if (model === FP32) {
    const params = await loadTensors(ctx.artifacts, models.checkpointRef, 'model');
    bytes = buildInferenceModel(ctx.modelOf(spec, scenario), h, params);
  } else {
    const quantized = models.quantized[model];
    if (!quantized)
      throw new Error(
        `--model ${model}: task ${taskIndex} has no such model; it has ${[FP32, ...Object.keys(models.quantized)].join(', ')}`,
      );
    const manifest = await ctx.artifacts.getJson<QuantizedManifest>(quantized.manifestRef);
    bytes = await ctx.artifacts.get(manifest.heads[h]);
  }
  // InferenceSession checks what Retain's evaluation needs too: an input 'x' with static dims and an output 'logits'.
  const session = await InferenceSession.create(bytes);
  await session.close();
  return bytes;
}
