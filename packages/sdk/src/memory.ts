import type { ScenarioOutline } from '@retain/data';
import type { Model } from '@retain/engine';

/**
 * A run's peak memory, estimated before it starts from what validation knows without data: the
 * model's parameter shapes (every head or column the scenario's tasks need), the trainer's batch
 * and optimizer, the method's state, the evaluation batch and the dataset's size. One worker
 * process runs a run's activities one at a time, so the peak is the fixed part plus the larger of
 * a training step and an evaluation call. Coarse on purpose (within a factor of about 2 of the
 * measured peak RSS, README "Memory bound" table); its job is to refuse specs that cannot fit,
 * by orders of magnitude, before they run for a minute and die out of memory.
 */

const FLOAT = 4;
// The constants are fitted to peak RSS measured with /usr/bin/time -v on `retain run` (README
// "Memory bound" has the table): an MLP of 20M parameters, a transformer on 784-token inputs in
// training and in evaluation, a small text transformer.
/** A worker process with nothing loaded yet: Node, onnxruntime, the Temporal worker and its bundle, the dev server. */
export const BASELINE_BYTES = 350e6;
/**
 * Copies of the parameters alive around a training step (measured: about 19 with Adam's 2): the
 * activity's own, the session's feeds, outputs and gradients, the initializers of the step graph,
 * checkpoints read back and serialised, the inference export; optimizer state comes on top.
 */
const PARAM_COPIES = 17;
/** Backward keeps a gradient beside each stored activation, and onnxruntime's arena rounds up (measured 2.4). */
const BACKWARD_FACTOR = 2.5;
/** The loaded dataset's working copies (raw bytes and per-task gathers). */
const DATASET_COPIES = 2;
/**
 * The bytes one evaluation call's activations may take: a larger evaluator batch is split into
 * calls of `evaluationBatchLimit` examples (the results do not depend on the split). 1 GB leaves
 * every model whose call fits in it (every example spec) with the batches it always had.
 */
export const EVALUATION_CALL_BYTES = 1e9;

/** The most examples one evaluation call may pass for a model holding `activations` floats per example at once. */
export function evaluationBatchLimit(activations: number, inputSize: number): number {
  return Math.max(1, Math.floor(EVALUATION_CALL_BYTES / ((activations + inputSize) * FLOAT)));
}

export interface MemoryInputs {
  model: Model;
  scenario: ScenarioOutline;
  /** Float32 values per example: kept for backward (train) and alive at once (evaluate). */
  activations: { train: number; evaluate: number };
  trainer: { batchSize: number; stepsPerRun: number; optimizerSlots: number };
  /** Float32 values the method keeps across tasks. */
  methodStateFloats: number;
  /** The evaluators' largest `predict` batch, before the task's test size bounds it. */
  evaluationBatch: number;
}

/** Where the bytes go, each term with the spec field that sets it (what a refusal names). */
export interface MemoryEstimate {
  peakBytes: number;
  terms: Array<{ what: string; bytes: number; field: string }>;
}

export function estimateRunMemory(m: MemoryInputs, fields: { evaluator: string }): MemoryEstimate {
  const params = m.model.params.reduce((n, p) => n + numel(p.dims), 0);
  const headParams = m.model.heads > 1 ? params - m.model.paramsForHead(0).reduce((n, name) => n + numelOf(m.model, name), 0) : 0;
  const inputSize = numel(m.scenario.inputDims);
  const trainBatch = Math.min(m.trainer.batchSize, Math.max(1, m.scenario.trainPerTask));
  const evalBatch = Math.min(
    m.evaluationBatch,
    Math.max(1, m.scenario.testPerTask),
    evaluationBatchLimit(m.activations.evaluate, inputSize),
  );
  // A session call of K steps is fed K batches at once.
  const train = trainBatch * (m.activations.train * BACKWARD_FACTOR + inputSize * m.trainer.stepsPerRun) * FLOAT;
  const evaluate = evalBatch * (m.activations.evaluate + inputSize) * FLOAT;
  const terms = [
    { what: 'process baseline', bytes: BASELINE_BYTES, field: '' },
    { what: 'dataset', bytes: m.scenario.datasetBytes * DATASET_COPIES, field: 'benchmark.config' },
    {
      what: `parameters (${formatCount(params)} floats${headParams > 0 ? `, ${formatCount(headParams)} of them in other tasks' heads` : ''}) with optimizer state`,
      bytes: params * (PARAM_COPIES + m.trainer.optimizerSlots) * FLOAT,
      // Most of the parameters in per-task heads or columns: the number of tasks is what to lower.
      field: headParams * 2 > params ? 'benchmark.config.tasks' : 'model.config',
    },
    { what: 'method state', bytes: m.methodStateFloats * 2 * FLOAT, field: 'method.config' },
    train >= evaluate
      ? { what: `training activations (batch ${trainBatch})`, bytes: train, field: 'trainer.config.batchSize' }
      : { what: `evaluation activations (batch ${evalBatch})`, bytes: evaluate, field: fields.evaluator },
  ];
  return { peakBytes: terms.reduce((n, t) => n + t.bytes, 0), terms };
}

/** The refusal: the estimate, its largest term and this machine's memory; undefined when it fits. */
export function memoryProblem(estimate: MemoryEstimate, memoryBytes: number): { field: string; problem: string } | undefined {
  if (estimate.peakBytes <= memoryBytes) return undefined;
  const largest = estimate.terms.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return {
    field: largest.field || 'model.config',
    problem:
      `the run needs about ${formatBytes(estimate.peakBytes)} of memory at its peak, most of it ${largest.what} (${formatBytes(largest.bytes)}), ` +
      `but this machine has ${formatBytes(memoryBytes)}; make it smaller (the estimate: README "Memory bound")`,
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

function numel(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function numelOf(model: Model, name: string): number {
  const p = model.params.find((q) => q.name === name);
  return p ? numel(p.dims) : 0;
}

/**
 * Activations of a model that does not say (ModelPlugin.activations): each matrix's output width,
 * twice (before and after its nonlinearity); the evaluation peak is the widest layer's pair.
 */
export function activationsFromShapes(model: Model): { train: number; evaluate: number } {
  const used = new Set(model.paramsForHead(0));
  const widths = model.params.filter((p) => used.has(p.name) && p.dims.length >= 2).map((p) => p.dims[p.dims.length - 1]);
  return { train: 2 * widths.reduce((a, b) => a + b, 0), evaluate: 2 * Math.max(0, ...widths) };
}
