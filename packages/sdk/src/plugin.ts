import type { z } from 'zod';
import type { FakeQuantScheme, InferenceExportOptions, Model, QuantizedWeight, StepMethod, TensorMap, Value } from '@retain/engine';
import type { OutlineResult, SampleSet, Scenario, ScenarioInfo, ScenarioOutline, TaskData } from '@retain/data';
import type { SpecError } from './errors';

/**
 * Plugin contracts. A plugin is a value made by `definePlugin`: a kind, a name, a config schema
 * with defaults, and the hooks of its kind. Hooks receive what they need and return values
 * (graph terms, tensors, state); they never reach into shared state (Avalanche issue #659).
 */

export type PluginKind = 'benchmark' | 'model' | 'trainer' | 'method' | 'quantizer' | 'evaluator';

interface PluginBase<K extends PluginKind, C> {
  kind: K;
  name: string;
  version: string;
  /** One line for `retain plugins` and generated docs. */
  description: string;
  /** Validates a spec's `config` and fills defaults; errors name the field. */
  configSchema: z.ZodType<C>;
  /** A short label for one configuration, e.g. `rtn-int4`; used as default ids in results. */
  label?(config: C): string;
  /**
   * Rules that need more than this plugin's own config (another plugin, the scenario's shape),
   * checked by spec validation before anything starts; never reads data. Each problem is a
   * SpecError naming its full field path (`ctx.path` is this plugin's place in the spec).
   */
  checkSpec?(config: C, ctx: SpecCheckContext): SpecError[];
}

/** What `checkSpec` sees: the spec with every plugin config resolved, and what is known without data. */
export interface SpecCheckContext {
  /** This plugin's place in the spec: `model`, `method`, `quantizers.2`, ... */
  path: string;
  spec: {
    benchmark: { name: string; config: Record<string, unknown> };
    model: { name: string; config: Record<string, unknown> };
    method: { name: string; config: Record<string, unknown> };
    quantizers: Array<{ id: string; name: string; config: Record<string, unknown> }>;
    qat?: { quantizer: string; lsq: boolean };
  };
  /** The scenario's shape, when the benchmark can tell it without data (`outline`). */
  scenario?: ScenarioOutline;
  /** The model's parameter shapes built on `scenario`, when both could be. */
  model?: Model;
}

/** A sequence of tasks built from a dataset. */
export interface BenchmarkPlugin<C = unknown> extends PluginBase<'benchmark', C> {
  scenario(config: C, seed: number): Promise<Scenario>;
  /**
   * The scenario's shape and sizes without reading the data, and the settings that do not fit
   * the data (fields relative to `config`): spec validation checks sizes, builds the model's
   * shapes and bounds memory with it.
   */
  outline?(config: C): OutlineResult;
}

/** A network architecture, shaped by the scenario (input size, heads, classes per head). */
export interface ModelPlugin<C = unknown> extends PluginBase<'model', C> {
  build(config: C, scenario: ScenarioInfo): Model;
  /**
   * Float32 values one example's forward pass holds (spec validation's memory bound, memory.ts):
   * `train`, every activation kept for the backward pass; `evaluate`, the most alive at once.
   * Absent: estimated from the parameter shapes (the output width of each matrix).
   */
  activations?(config: C, scenario: ScenarioInfo): { train: number; evaluate: number };
}

/** Progress a trainer reports while it runs; the worker turns it into Temporal heartbeats. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  samplesPerSec: number;
}

export interface TrainContext<C = unknown> {
  config: C;
  seed: number;
  taskIndex: number;
  task: TaskData;
  model: Model;
  /** The head this task trains (0 when the model has one shared head). */
  head: number;
  /** Parameters at the start of the task, every head included. */
  params: TensorMap;
  /** The method's contribution to this task's training: step-graph hooks, their tensors, batches. */
  method: MethodTraining;
  progress(p: TrainProgress): void;
  /** Aborted when the activity is cancelled; a trainer stops between steps. */
  signal: AbortSignal;
  /** Where to continue: a checkpoint this trainer saved earlier in the same task (a retried or paused attempt). */
  resume?: TrainCheckpoint;
  /**
   * Stores a mid-task checkpoint durably (the worker heartbeats its ref, so a retry resumes from
   * it). Absent when nothing can store one (e.g. a unit test); a trainer then just trains.
   */
  checkpoint?(c: TrainCheckpoint): Promise<void>;
}

/**
 * A trainer's state in the middle of a task: enough to continue bit for bit. The data order is
 * not stored: it is a pure function of (seed, task, epoch), and `step` gives the epoch.
 */
export interface TrainCheckpoint {
  /** Steps completed. */
  step: number;
  /** Everything the training session holds: trained parameters and every state tensor. */
  tensors: TensorMap;
  /** Samples seen so far and the loss of the last step, so the task's totals survive a resume. */
  samples: number;
  loss: number;
}

export interface TrainOutcome {
  /** Parameters after the task, every head included. */
  params: TensorMap;
  steps: number;
  /** Samples the steps trained on, the method's additions included (replay's memory samples). */
  samples: number;
  /**
   * Samples of the task's own training data among them; absent when it equals `samples` (a
   * method that adds none), so a trainer need not report it.
   */
  newSamples?: number;
  finalLoss: number;
  seconds: number;
  /** Final values of the method's step state (`method.step.state`), when it has any. */
  methodState?: TensorMap;
}

/**
 * How a trainer's optimizer moves a parameter, as far as a method's stability check needs it
 * (`MethodContext.trainer`). `heavy-ball`: SGD with (optionally Nesterov) momentum, whose step on
 * a quadratic of curvature h diverges once `lr * (h + weightDecay)` reaches `2 (1 + momentum)`
 * (Nesterov: `2 (1 + momentum) / (1 + 2 momentum)`). `bounded`: an update whose size does not
 * grow with the curvature (Adam's normalised step, a clipped gradient norm), so no such bound
 * applies; `reason` says which.
 */
export type UpdateRule =
  | { kind: 'heavy-ball'; lr: number; momentum: number; nesterov: boolean; weightDecay: number }
  | { kind: 'bounded'; lr: number; reason: string };

export interface TrainerPlugin<C = unknown> extends PluginBase<'trainer', C> {
  train(ctx: TrainContext<C>): Promise<TrainOutcome>;
  /**
   * The update rule of this config, with the largest learning rate any step of a task takes
   * (before a method's `lrScale`), for methods that check their penalty's curvature against it.
   */
  updateRule?(config: C): UpdateRule;
  /** The batch a training step holds, steps per session call and optimizer state per parameter: the memory bound's inputs. */
  memoryShape?(config: C): { batchSize: number; stepsPerRun: number; optimizerSlots: number };
}

/** One training batch: `size` samples, inputs flattened row after row, labels as the model sees them. */
export interface Batch {
  x: Float32Array;
  /** size * targetsPerSample labels, sample k's at [k * targetsPerSample, (k + 1) * targetsPerSample) (gatherLabels). */
  y: Int32Array;
  size: number;
  /**
   * Where each sample sits in the set the trainer draws from (`MethodTraining.trainingSet`, else
   * the task's training set): set on the batch a trainer hands a method's batch source.
   */
  indices?: Int32Array;
}

/**
 * Chooses the batch of step `step` from the one the trainer drew from the current task (replay
 * mixes in buffer samples), and may add per-step feeds for the step method's `batchInputs`
 * (A-GEM's memory batch). Must be a pure function of (seed, task, step, batch): seed its
 * choices with deriveSeed(seed, <what>, taskIndex, step), so a resumed task sees the same batches.
 */
export type BatchSource = (step: number, current: Batch) => { batch: Batch; feeds?: Record<string, Value> };

/**
 * What a method adds to training on one task. Hooks return values; the trainer
 * builds them into its one step graph and feeds the tensors.
 */
export interface MethodTraining {
  /** Loss terms, gradient transform and step-updated state, built into the step graph. */
  step?: StepMethod;
  /** Values of `step.constants` and the initial values of `step.state`, by name. */
  tensors?: TensorMap;
  /** Where each step's batch comes from; absent: the trainer's batch of the current task. */
  batches?: BatchSource;
  /**
   * The samples the trainer's epochs run over on this task instead of the task's own training
   * set (joint's `epochsOver: union`: every task so far), so the step count follows its size;
   * absent: the task's training set. A trainer's `steps` setting still fixes the count.
   */
  trainingSet?: SampleSet;
  /** Multiplies the trainer's learning rate on this task (per-task schedules); default 1. */
  lrScale?: number;
  /**
   * The params this task may update (progressive networks train only the new column); default
   * every param of the task's head. Others in the forward pass stay fixed.
   */
  trainable?: string[];
  /**
   * Parameters this task trains beside the model's own (LoRA's adapters) and how the task's
   * result folds them back in; absent: the trainer trains the model's params as they are.
   */
  adapter?: TrainingAdapter;
}

/**
 * A method's change to the model for one task's training only (LoRA): the trainer trains
 * `model`, starting from `start(params)`, and the task's checkpoint is `finish(trained)`. The run's
 * model (checkpoints' params, evaluation, quantizers, export) stays the plain one, so `finish` must
 * return the plain model's params; it may keep extra tensors (a shared adapter) for the next
 * task's `start`, which the plain model ignores.
 */
/** What `TrainingAdapter.start` returns when it also decides the model to train. */
export interface AdapterStart {
  params: TensorMap;
  model: Model;
}

/** The model and params a task trains through `adapter` (trainTask and the conformance kit both start it so). */
export async function startAdapter(adapter: TrainingAdapter, params: TensorMap): Promise<AdapterStart> {
  const started = await adapter.start(params);
  return isAdapterStart(started) ? started : { model: adapter.model, params: started };
}

function isAdapterStart(v: TensorMap | AdapterStart): v is AdapterStart {
  const model = (v as Partial<AdapterStart>).model as { forward?: unknown } | undefined;
  return typeof model?.forward === 'function' && 'params' in v;
}

export interface TrainingAdapter {
  /** What the trainer trains: the run's model with the adapter's params in its forward. */
  model: Model;
  /**
   * The params the task starts from, given the previous task's checkpoint: a pure function of
   * them and the seed. A retried or resumed task calls it again, then the trainer's mid-task
   * checkpoint replaces what the task had trained, so nothing is applied twice. It may also
   * return the model to train instead of `model`, when that model depends on what `start`
   * computed (QLoRA's base, held in the step graph as codes: `withFrozenCodes`).
   */
  start(params: TensorMap): TensorMap | AdapterStart | Promise<TensorMap | AdapterStart>;
  /** The task's result from the trained params (every param of `model`): LoRA's merge. */
  finish(trained: TensorMap): TensorMap;
}

export interface MethodContext<C = unknown> {
  config: C;
  seed: number;
  taskIndex: number;
  task: TaskData;
  model: Model;
  /** The head this task trains (0 when the model has one shared head). */
  head: number;
  /** Any task of the scenario (earlier ones for joint training, rehearsal or distillation heads). */
  taskData(index: number): TaskData;
  /** The method's state after the previous task (what `afterTask` returned), if any. */
  state?: TensorMap;
  /**
   * The spec's trainer's update rule (`TrainerPlugin.updateRule`), for a stability check of the
   * method's own curvature; absent when the trainer does not tell (or outside a run).
   */
  trainer?: UpdateRule;
  /**
   * Runs the spec's quantizer with this id (an entry of `quantizers`) on `params` of the model
   * plugin's model, calibrated on this task's training data, as finishTask would: QLoRA's GPTQ or
   * HQQ base. Absent outside a run (the conformance kit).
   */
  quantizeWith?(quantizerId: string, params: TensorMap): Promise<Record<string, QuantizedWeight>>;
}

export interface AfterTaskContext<C = unknown> extends MethodContext<C> {
  /** Parameters after training on the task, every head included. */
  params: TensorMap;
  /** Final values of the method's step state on this task (e.g. SI's path integral), if any. */
  trained?: TensorMap;
}

export interface MethodPlugin<C = unknown> extends PluginBase<'method', C> {
  /**
   * Float32 values of state the method keeps across tasks (importances, anchors, buffers) for a
   * model of `params` parameters and inputs of `inputSize` values: spec validation's memory
   * bound. Absent: none.
   */
  stateFloats?(
    config: C,
    size: { params: number; inputSize: number; tasks: number; /** labels per sample */ targetsPerSample: number },
  ): number;
  /**
   * The run's model, when the method changes it (LoRA with `merge: false` adds adapters that
   * evaluation and export must see): applied wherever a run builds the model plugin's model, so
   * checkpoints, the step graph, evaluation and export all see it, and every MethodContext.model is
   * it. Quantizers and QAT still see the model plugin's own model: they quantize its weights, and
   * what the method added stays float32. Must be a pure function of its arguments. Absent: the
   * model as built.
   */
  transformModel?(config: C, model: Model, scenario: ScenarioInfo): Model;
  /** What the method adds to training on this task. */
  training?(ctx: MethodContext<C>): MethodTraining | Promise<MethodTraining>;
  /** Consolidate after a task (Fisher, importance, buffer); the result is stored as an artifact. */
  afterTask?(ctx: AfterTaskContext<C>): Promise<TensorMap | undefined>;
}

export interface QuantizeContext<C = unknown> {
  config: C;
  seed: number;
  model: Model;
  params: TensorMap;
  /** The head of the task just learned: the forward pass calibration data goes through. */
  head: number;
  /** Training data of the task just learned, for calibration-based quantizers. */
  calibration: SampleSet;
  /**
   * Steps learned by quantization-aware training through this quantizer (spec `qat` with
   * `lsq: true`), by weight name, laid out as its `trainingTransform` planned them. A quantizer
   * quantizes on these steps, so the exported model computes what training computed.
   */
  stepSizes?: TensorMap;
  /** Index of the task just learned (0-based). Set by the worker; absent in tests that call `quantize` directly. */
  taskIndex?: number;
  /**
   * Task `index`'s training data and head, for index 0..taskIndex: what quantizers that weigh every
   * task seen so far read (mixed precision's importance proxy). Set by the worker.
   */
  taskData?(index: number): { train: SampleSet; head: number };
  /**
   * The run's method's Fisher diagonal by parameter name, summed over the Fisher tensors its state
   * keeps after this task's consolidation ('fisher.<param>' or '<prefix>.fisher.<param>': EWC's one
   * per task, online EWC's running one); undefined when the method keeps none. Loaded on demand.
   */
  methodFisher?(): Promise<TensorMap | undefined>;
}

/** Quantized weights by parameter name; parameters not listed stay float32. */
export interface QuantizeOutcome {
  weights: Record<string, QuantizedWeight>;
  /** How the ONNX model is written (default: standard QDQ). */
  export?: InferenceExportOptions;
}

export interface QatContext<C = unknown> {
  config: C;
  model: Model;
}

export interface QuantizerPlugin<C = unknown> extends PluginBase<'quantizer', C> {
  quantize(ctx: QuantizeContext<C>): Promise<QuantizeOutcome>;
  /**
   * Quantization-aware training through this quantizer (spec `qat`): the weights `quantize` will
   * quantize, each with the fake quantizer the training forward reads it through. Throws (a
   * message naming the config field) for a configuration that cannot be trained through.
   */
  trainingTransform?(ctx: QatContext<C>): Record<string, FakeQuantScheme>;
}

/** Runs a model on inputs: the evaluator never sees how (fp32, int8, int4...). */
export type Predict = (x: Float32Array, batch: number) => Promise<Float32Array>;

export interface EvaluateContext<C = unknown> {
  config: C;
  task: TaskData;
  /** Logits `[batch * targetsPerSample, classesPerHead]` for the task's head (one row per label). */
  predict: Predict;
}

export interface EvaluatorPlugin<C = unknown> extends PluginBase<'evaluator', C> {
  /** The most examples one `predict` call passes (before the task's size bounds it): the memory bound's input. */
  batchSize?(config: C): number;
  /** Named scalar results, e.g. `{ accuracy: 0.91 }`. */
  evaluate(ctx: EvaluateContext<C>): Promise<Record<string, number>>;
}

export type Plugin =
  BenchmarkPlugin<any> | ModelPlugin<any> | TrainerPlugin<any> | MethodPlugin<any> | QuantizerPlugin<any> | EvaluatorPlugin<any>;

export type PluginOfKind<K extends PluginKind> = Extract<Plugin, { kind: K }>;

/** Identity at run time; gives a plugin literal its precise type and checks it against its kind. */
export function definePlugin<C, P extends PluginBase<PluginKind, C> & Plugin>(plugin: P & { configSchema: z.ZodType<C> }): P {
  return plugin;
}
