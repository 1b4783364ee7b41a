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
}

export interface StepGraph {
  bytes: Uint8Array;
  /** Every param the graph takes as input (forward params and trainable ones). */
  paramNames: string[];
  /** Optimizer state inputs. */
  stateNames: string[];
  /** Params the step updates (each has an output 'new.<name>'). */
  trainable: string[];
  /** Per-example input dims (x is [B, ...inputDims]). */
  inputDims: number[];
  /** The model's buffers: inputs fed like params; those the forward updates have an output 'new.<name>'. */
  bufferNames: string[];
}

/**
 * The training step as ONE graph: forward, loss (+ extra terms), backward, optimizer update.
 * Inputs: 'x' [B, ...inputDims] float32, 'y' [B] int64, 'lr' [] float32, each param, each state,
 * each model buffer (plus any inputs `extraLoss` declares). Outputs: 'loss' [] and 'new.<name>'
 * for each updated param, state and buffer (the forward runs in training mode), so a runtime
 * feeds outputs back as the next step's inputs.
 */
export function buildStepGraph(spec: StepGraphSpec): StepGraph {
  const { model, head, optimizer } = spec;
  const forwardNames = model.paramsForHead(head);
  const trainable = spec.trainable ?? forwardNames;
  const paramNames = [...new Set([...forwardNames, ...trainable])];

  const g = new Graph(`${model.name}.step.head${head}`);
  const x = g.input('x', ['B', ...model.inputDims]);
  const y = g.input('y', ['B'], 'int64');
  const lr = g.input('lr', []);
  const params: Record<string, Tensor> = {};
  for (const name of paramNames) params[name] = g.param(name, paramSpec(model, name).dims);
  const stateSpecs = optimizerStateSpecs(
    optimizer,
    trainable.map((n) => paramSpec(model, n)),
  );
  const state: Record<string, Tensor> = {};
  for (const s of stateSpecs) state[s.name] = g.input(s.name, s.dims);
  const buffers = buffersOf(model);
  for (const b of buffers) params[b.name] = g.input(b.name, b.dims);

  const bufferUpdates: Record<string, Tensor> = {};
  const logits = model.forward(g, params, x, head, { training: true, bufferUpdates });
  let loss = softmaxCrossEntropy(logits, y);
  const extra = spec.extraLoss?.(g, params, logits, { x, y });
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
    optimizer,
    trainable.map((name, i) => ({ name, value: params[name], grad: grads[i] })),
    state,
    lr,
  );
  g.output('loss', loss);
  for (const [name, t] of Object.entries(updates)) g.output(`new.${name}`, t);
  for (const [name, t] of Object.entries(bufferUpdates)) g.output(`new.${name}`, t);
  return {
    bytes: g.toBytes(),
    paramNames,
    stateNames: stateSpecs.map((s) => s.name),
    trainable,
    inputDims: [...model.inputDims],
    bufferNames: buffers.map((b) => b.name),
  };
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
