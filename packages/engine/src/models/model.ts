import type { Graph, Tensor } from '../graph';

/** One parameter of a model: its name, shape and how it is initialised. */
export interface ParamSpec {
  name: string;
  dims: number[];
  /** he / xavier: normal, scaled by fan-in (and fan-out); normal: N(0, std^2); zeros / ones: constant. */
  init: 'he' | 'xavier' | 'zeros' | 'ones' | 'normal';
  /** Inputs per output unit, when not dims[0] (a [in, out] linear weight): C_in/groups * kh * kw for a conv kernel. */
  fanIn?: number;
  /** Outputs per input unit, when not the last dim: C_out * kh * kw for a conv kernel. */
  fanOut?: number;
  /** The standard deviation for init 'normal'. */
  std?: number;
}

/** Buffer init 'seed': a per-run random integer below 2^24 (exact in float32), e.g. a dropout seed. */
export type BufferSpec = Omit<ParamSpec, 'init'> & { init: ParamSpec['init'] | 'seed' };

/**
 * How `forward` is being built. Absent (or training false): evaluation and export, where batch
 * norm reads its running statistics and dropout is off. In the training step, training is true
 * and the model writes the next value of each buffer it updates into `bufferUpdates`; the step
 * graph outputs them as 'new.<buffer>'.
 */
export interface ForwardMode {
  training: boolean;
  bufferUpdates?: Record<string, Tensor>;
}

/**
 * A model as data plus a forward builder. The same `forward` serves the training step, the eval
 * graph and the exported inference model; only where the parameter tensors come from differs
 * (graph inputs, or initializers, possibly dequantized).
 */
export interface Model {
  name: string;
  inputDims: number[]; // per example, e.g. [784]
  heads: number; // 1 = shared head; T = a head per task (task-IL)
  classesPerHead: number;
  /**
   * Rows of logits per example; absent = 1. A causal LM over T tokens predicts at every position:
   * T rows, matched row for row by the T labels of its sample (SampleSet.targetsPerSample).
   */
  targetsPerExample?: number;
  params: ParamSpec[]; // all params, every head
  paramsForHead(head: number): string[]; // trunk params + that head's params
  /**
   * Non-trained state the forward pass reads, shared by every head: batch-norm running
   * statistics, the dropout seed and step counter. Absent = none. Buffers are fed like params
   * (graph inputs in the step and eval graphs, initializers in an export), are never in
   * `params` or `paramsForHead`, get no gradient, and live in checkpoints beside the params.
   */
  buffers?: BufferSpec[];
  /** Logits [B * targetsPerExample, classesPerHead]. `params` holds the head's params and every buffer. */
  forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode?: ForwardMode): Tensor;
}

export function paramSpec(model: Model, name: string): ParamSpec {
  const spec = model.params.find((p) => p.name === name);
  if (!spec)
    throw new Error(`model '${model.name}' has no parameter '${name}'; its parameters are ${model.params.map((p) => p.name).join(', ')}`);
  return spec;
}

/** The model's buffers (none when it declares none). */
export function buffersOf(model: Model): BufferSpec[] {
  return model.buffers ?? [];
}
