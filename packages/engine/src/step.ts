import { add, argmax, gradients, Graph, softmaxCrossEntropy, type Tensor } from './graph';
import { buffersOf, paramSpec, type Model } from './models/model';
import { applyOptimizer, optimizerStateSpecs, type OptimizerConfig } from './optim';

export interface StepGraphSpec {
  model: Model;
  head: number;
  optimizer: OptimizerConfig;
  /** Params the step updates; default model.paramsForHead(head). Others in the forward pass stay fixed. */
  trainable?: string[];
  /** Extra loss terms (EWC and other penalties), added to the cross-entropy; must be a scalar. */
  extraLoss?: (g: Graph, params: Record<string, Tensor>, logits: Tensor, batch: { x: Tensor; y: Tensor }) => Tensor | undefined;
  /**
   * Optimizer steps per graph run (default 1). With K > 1 the graph takes a stack of K batches
   * and K learning rates and runs the K steps one after another inside one run, so parameters
   * cross the runtime boundary once per K steps (what a GPU provider needs to pay off).
   */
  stepsPerRun?: number;
}

export interface StepGraph {
  bytes: Uint8Array;
  /** Every param the graph takes as input (forward params and trainable ones). */
  paramNames: string[];
  /** Optimizer state inputs. */
  stateNames: string[];
  /** Params the step updates (each has an output 'new.<name>'). */
  trainable: string[];
  /** Per-example input dims (x is [B, ...inputDims], or [K, B, ...inputDims] for K steps per run). */
  inputDims: number[];
  /** Optimizer steps per run: 1, or K of a K-step graph. */
  stepsPerRun: number;
  /** The model's buffers: inputs fed like params; those the forward updates have an output 'new.<name>'. */
  bufferNames: string[];
}

/**
 * The training step as ONE graph: forward, loss (+ extra terms), backward, optimizer update.
 * Inputs: 'x' [B, ...inputDims] float32, 'y' [B] int64, 'lr' [] float32, each param, each state,
 * each model buffer (plus any inputs `extraLoss` declares). Outputs: 'loss' [] and 'new.<name>'
 * for each updated param, state and buffer (the forward runs in training mode), so a runtime
 * feeds outputs back as the next step's inputs.
 * With stepsPerRun = K > 1: 'x' [K, B, ...], 'y' [K, B], 'lr' [K] and 'loss' [K]; the K steps are
 * unrolled in order, each exactly the single step's nodes, so the result is bit-identical to K
 * runs of the one-step graph.
 */
export function buildStepGraph(spec: StepGraphSpec): StepGraph {
  const { model, head, optimizer } = spec;
  const forwardNames = model.paramsForHead(head);
  const trainable = spec.trainable ?? forwardNames;
  const paramNames = [...new Set([...forwardNames, ...trainable])];
  const K = spec.stepsPerRun ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new Error(`stepsPerRun must be a positive integer, got ${K}`);
  if (K > 1 && spec.extraLoss) throw new Error('stepsPerRun > 1 does not support extraLoss yet; use one step per run with loss terms');

  const g = new Graph(`${model.name}.step.head${head}${K > 1 ? `.k${K}` : ''}`);
  const stack = K > 1 ? ['K'] : [];
  const xs = g.input('x', [...stack, 'B', ...model.inputDims]);
  const ys = g.input('y', [...stack, 'B'], 'int64');
  const lrs = g.input('lr', K > 1 ? [K] : []);
  let params: Record<string, Tensor> = {};
  for (const name of paramNames) params[name] = g.param(name, paramSpec(model, name).dims);
  const stateSpecs = optimizerStateSpecs(
    optimizer,
    trainable.map((n) => paramSpec(model, n)),
  );
  let state: Record<string, Tensor> = {};
  for (const s of stateSpecs) state[s.name] = g.input(s.name, s.dims);
  const buffers = buffersOf(model);
  for (const b of buffers) params[b.name] = g.input(b.name, b.dims);

  const losses: Tensor[] = [];
  let updates: Record<string, Tensor> = {};
  const bufferUpdates: Record<string, Tensor> = {};
  for (let k = 0; k < K; k++) {
    const pick = (t: Tensor) =>
      K > 1 ? g.node('Gather', [t, g.scalar(k, 'int64')], { dims: t.dims.slice(1), dtype: t.dtype }, { axis: 0 }) : t;
    const step = appendStep(g, spec, trainable, params, state, { x: pick(xs), y: pick(ys) }, pick(lrs));
    losses.push(step.loss);
    updates = step.updates;
    // The next step reads this step's params, state and buffers (batch-norm statistics, dropout counter).
    Object.assign(bufferUpdates, step.bufferUpdates);
    params = { ...params, ...only(updates, trainable), ...step.bufferUpdates };
    state = only(updates, Object.keys(state));
  }
  if (K > 1) {
    const one = g.constant(new BigInt64Array([0n]), [1], 'int64');
    const unsqueezed = losses.map((l) => g.node('Unsqueeze', [l, one], { dims: [1], dtype: 'float32' }));
    g.output('loss', g.node('Concat', unsqueezed, { dims: [K], dtype: 'float32' }, { axis: 0 }));
  } else g.output('loss', losses[0]);
  for (const [name, t] of Object.entries(updates)) g.output(`new.${name}`, t);
  for (const [name, t] of Object.entries(bufferUpdates)) g.output(`new.${name}`, t);
  return {
    bytes: g.toBytes(),
    paramNames,
    stateNames: stateSpecs.map((s) => s.name),
    trainable,
    inputDims: [...model.inputDims],
    stepsPerRun: K,
    bufferNames: buffers.map((b) => b.name),
  };
}

/** One step's forward, loss, backward and update; returns the loss and every updated param, state and buffer. */
function appendStep(
  g: Graph,
  spec: StepGraphSpec,
  trainable: string[],
  params: Record<string, Tensor>,
  state: Record<string, Tensor>,
  batch: { x: Tensor; y: Tensor },
  lr: Tensor,
): { loss: Tensor; updates: Record<string, Tensor>; bufferUpdates: Record<string, Tensor> } {
  const bufferUpdates: Record<string, Tensor> = {};
  const logits = spec.model.forward(g, params, batch.x, spec.head, { training: true, bufferUpdates });
  let loss = softmaxCrossEntropy(logits, batch.y);
  const extra = spec.extraLoss?.(g, params, logits, batch);
  if (extra) {
    if (extra.rank !== 0 || extra.dtype !== 'float32') throw new Error(`extraLoss must return a float32 scalar, got ${extra}`);
    loss = add(loss, extra);
  }
  const grads = gradients(
    loss,
    trainable.map((n) => params[n]),
  );
  const updates = applyOptimizer(
    g,
    spec.optimizer,
    trainable.map((name, i) => ({ name, value: params[name], grad: grads[i] })),
    state,
    lr,
  );
  return { loss, updates, bufferUpdates };
}

function only(tensors: Record<string, Tensor>, names: string[]): Record<string, Tensor> {
  return Object.fromEntries(names.map((n) => [n, tensors[n]]));
}

/** Evaluation graph: inputs 'x', the head's params and the model's buffers; outputs 'logits' and 'pred' (argmax, int64). */
export function buildEvalGraph(model: Model, head: number): Uint8Array {
  const g = new Graph(`${model.name}.eval.head${head}`);
  const x = g.input('x', ['B', ...model.inputDims]);
  const params: Record<string, Tensor> = {};
  for (const name of model.paramsForHead(head)) params[name] = g.param(name, paramSpec(model, name).dims);
  for (const b of buffersOf(model)) params[b.name] = g.input(b.name, b.dims);
  const logits = model.forward(g, params, x, head);
  g.output('pred', argmax(logits, 1));
  g.output('logits', logits);
  return g.toBytes();
}
