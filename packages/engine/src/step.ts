import { add, argmax, gradients, Graph, scale, softmaxCrossEntropy, type Dim, type Tensor } from './graph';
import { buffersOf, paramSpec, type Model } from './models/model';
import { applyOptimizer, optimizerStateSpecs, type OptimizerConfig } from './optim';

export interface StepGraphSpec {
  model: Model;
  head: number;
  optimizer: OptimizerConfig;
  /** Params the step updates; default model.paramsForHead(head). Others in the forward pass stay fixed. */
  trainable?: string[];
  /**
   * Optimizer steps per graph run (default 1). With K > 1 the graph takes a stack of K batches
   * (and of the method's batch inputs) and K learning rates and runs the K steps one after another
   * inside one run, so parameters cross the runtime boundary once per K steps (what a GPU provider
   * needs to pay off). Method hooks work unchanged.
   * 'any': the one-step graph as the body of an ONNX Scan over the stacks, so one graph runs any
   * number of steps per run (K is the stack's length at run time) and its size does not grow with K.
   */
  stepsPerRun?: number | 'any';
  /** What a continual-learning method adds to the step (the method contract: docs/architecture.md §4). */
  method?: StepMethod;
  /**
   * Mixed-precision training: every matrix product of the step (forward and backward) multiplies
   * float16 or bfloat16 operands and returns float32, while the params, the loss, the gradients and
   * the optimizer update stay float32 (the master weights). Under float16 the loss is multiplied by
   * `lossScale` before the backward pass and the gradients divided by it after, so small gradients
   * do not underflow float16 (static loss scaling; bfloat16 has float32's exponent range and needs
   * none). Absent: float32 throughout.
   */
  mixedPrecision?: { matmul: 'float16' | 'bfloat16'; lossScale?: number };
}

/** What the hooks of a StepMethod see while the step graph is built. */
export interface StepTerms {
  g: Graph;
  model: Model;
  head: number;
  /** Every param the forward pass reads, as graph inputs. */
  params: Record<string, Tensor>;
  /** Names of the params this step updates. */
  trainable: string[];
  logits: Tensor;
  batch: { x: Tensor; y: Tensor };
  /** The method's own graph inputs, by name: its constants, its state and its batch inputs. */
  inputs: Record<string, Tensor>;
  /** Gradients of the task loss (mean cross-entropy) on another batch, by trainable param. */
  lossGradients(x: Tensor, y: Tensor): Record<string, Tensor>;
}

/**
 * A method's part of the training step. Every tensor it reads is a graph input, never a baked
 * constant, so one graph serves every step and every task: values come from the session.
 */
export interface StepMethod {
  /** Inputs fed when the session starts and fixed for the task (EWC's Fisher and anchor). */
  constants?: Record<string, number[]>;
  /**
   * State the step updates (SI's running path integral): input '<name>', output 'new.<name>',
   * fed back like optimizer state, so whatever checkpoints the session covers it.
   */
  state?: Record<string, number[]>;
  /** Inputs fed with every batch besides x and y (A-GEM's memory batch). */
  batchInputs?: Record<string, { dims: Dim[]; dtype: 'float32' | 'int64' }>;
  /** A float32 scalar added to the loss (a penalty or a distillation term). */
  lossTerm?(terms: StepTerms): Tensor | undefined;
  /** Replaces the gradients before the optimizer sees them (A-GEM's projection). */
  gradientTransform?(terms: StepTerms & { grads: Record<string, Tensor> }): Record<string, Tensor>;
  /** New values of every `state` tensor, from the gradients and the optimizer's update. */
  stateUpdate?(
    terms: StepTerms & {
      /** Gradients of the task loss alone (no method terms), by trainable param. */
      taskGrads: Record<string, Tensor>;
      /** The gradients the optimizer used. */
      grads: Record<string, Tensor>;
      /** Every param's value after the update. */
      updated: Record<string, Tensor>;
    },
  ): Record<string, Tensor>;
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
  /** Labels per example (Model.targetsPerExample): 'y' is [B * targetsPerExample]; absent = 1. */
  targetsPerExample?: number;
  /** Optimizer steps per run: 1, K of an unrolled K-step graph, or 'any' for a Scan graph. */
  stepsPerRun: number | 'any';
  /** The method's inputs fed once (its constants and the initial value of its state). */
  methodInputs: string[];
  /** The method's state updated by every step (each has an output 'new.<name>'). */
  methodState: string[];
  /** Inputs fed with every step besides x, y and lr. */
  batchInputs: string[];
  /** The model's buffers: inputs fed like params; those the forward updates have an output 'new.<name>'. */
  bufferNames: string[];
}

/**
 * The training step as ONE graph: forward, loss (+ the method's term), backward, optimizer update.
 * Inputs: 'x' [B, ...inputDims] float32, 'y' [B] int64 ([B * T] when the model predicts
 * T = targetsPerExample rows per example, a causal LM's every position), 'lr' [] float32, each param, each state,
 * each model buffer (and the method's constants, state and batch inputs). Outputs: 'loss' [] and 'new.<name>' for each updated param, optimizer state,
 * buffer (the forward runs in training mode) and method state, so a runtime feeds outputs back
 * as the next step's inputs.
 * With stepsPerRun = K > 1: 'x' [K, B, ...], 'y' [K, B], 'lr' [K], each method batch input
 * [K, ...] and 'loss' [K]; the K steps are unrolled in order, each exactly the single step's nodes
 * (method hooks included, its state chained from step to step), so the result is bit-identical
 * to K runs of the one-step graph.
 */
export function buildStepGraph(spec: StepGraphSpec): StepGraph {
  if (spec.stepsPerRun === 'any') return buildScanStepGraph(spec);
  const { model, head, optimizer } = spec;
  const forwardNames = model.paramsForHead(head);
  const trainable = spec.trainable ?? forwardNames;
  const paramNames = [...new Set([...forwardNames, ...trainable])];
  const K = spec.stepsPerRun ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new Error(`stepsPerRun must be a positive integer or 'any', got ${K}`);

  const g = new Graph(`${model.name}.step.head${head}${K > 1 ? `.k${K}` : ''}`);
  const stack = K > 1 ? ['K'] : [];
  const xs = g.input('x', [...stack, 'B', ...model.inputDims]);
  const ys = g.input('y', [...stack, labelsDim(model)], 'int64');
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

  const method = spec.method ?? {};
  const methodInputs: Record<string, Tensor> = {};
  const declare = (name: string, dims: Dim[], dtype: 'float32' | 'int64' = 'float32') => {
    if (name in params || name in state || ['x', 'y', 'lr'].includes(name))
      throw new Error(`step method input '${name}' clashes with a param, optimizer state or batch input; prefix it with the method's name`);
    methodInputs[name] = g.input(name, dims, dtype);
  };
  for (const [name, dims] of Object.entries(method.constants ?? {})) declare(name, dims);
  for (const [name, dims] of Object.entries(method.state ?? {})) declare(name, dims);
  // Batch inputs come stacked like x and y: [K, ...dims], one slice per step.
  for (const [name, { dims, dtype }] of Object.entries(method.batchInputs ?? {})) declare(name, [...stack, ...dims], dtype);
  const batchInputNames = Object.keys(method.batchInputs ?? {});

  const losses: Tensor[] = [];
  let updates: Record<string, Tensor> = {};
  const bufferUpdates: Record<string, Tensor> = {};
  let methodStateUpdates: Record<string, Tensor> = {};
  let stepInputs = methodInputs;
  for (let k = 0; k < K; k++) {
    const pick = (t: Tensor) =>
      K > 1 ? g.node('Gather', [t, g.scalar(k, 'int64')], { dims: t.dims.slice(1), dtype: t.dtype }, { axis: 0 }) : t;
    for (const name of batchInputNames) stepInputs = { ...stepInputs, [name]: pick(methodInputs[name]) };
    const step = appendStep(g, spec, trainable, params, state, stepInputs, { x: pick(xs), y: pick(ys) }, pick(lrs));
    losses.push(step.loss);
    updates = step.updates;
    methodStateUpdates = step.methodStateUpdates;
    // The next step reads this step's params, state, buffers (batch-norm statistics, dropout
    // counter) and method state (SI's running sums).
    Object.assign(bufferUpdates, step.bufferUpdates);
    params = { ...params, ...only(updates, trainable), ...step.bufferUpdates };
    state = only(updates, Object.keys(state));
    stepInputs = { ...stepInputs, ...methodStateUpdates };
  }
  if (K > 1) {
    const one = g.constant(new BigInt64Array([0n]), [1], 'int64');
    const unsqueezed = losses.map((l) => g.node('Unsqueeze', [l, one], { dims: [1], dtype: 'float32' }));
    g.output('loss', g.node('Concat', unsqueezed, { dims: [K], dtype: 'float32' }, { axis: 0 }));
  } else g.output('loss', losses[0]);
  for (const [name, t] of Object.entries(methodStateUpdates)) g.output(`new.${name}`, t);
  for (const [name, t] of Object.entries(updates)) g.output(`new.${name}`, t);
  for (const [name, t] of Object.entries(bufferUpdates)) g.output(`new.${name}`, t);
  return { bytes: g.toBytes(), ...stepGraphInterface(spec, K) };
}

/** The inputs and outputs a step graph built from `spec` has, unrolled or Scan alike: all but its bytes. */
function stepGraphInterface(spec: StepGraphSpec, stepsPerRun: number | 'any'): Omit<StepGraph, 'bytes'> {
  const { model } = spec;
  const forwardNames = model.paramsForHead(spec.head);
  const trainable = spec.trainable ?? forwardNames;
  const method = spec.method ?? {};
  const methodState = Object.keys(method.state ?? {});
  return {
    paramNames: [...new Set([...forwardNames, ...trainable])],
    stateNames: optimizerStateSpecs(
      spec.optimizer,
      trainable.map((n) => paramSpec(model, n)),
    ).map((s) => s.name),
    trainable,
    inputDims: [...model.inputDims],
    ...(targetsOf(model) > 1 ? { targetsPerExample: targetsOf(model) } : {}),
    stepsPerRun,
    methodInputs: [...Object.keys(method.constants ?? {}), ...methodState],
    methodState,
    batchInputs: Object.keys(method.batchInputs ?? {}),
    bufferNames: buffersOf(model).map((b) => b.name),
  };
}

/** Static loss scale of float16 mixed precision (a power of two: scaling by it is exact). */
export const DEFAULT_LOSS_SCALE = 1024;

/**
 * One step's forward, loss (+ the method's term), backward and update; returns the
 * loss and every updated param, optimizer state, buffer and method state.
 */
function appendStep(
  g: Graph,
  spec: StepGraphSpec,
  trainable: string[],
  params: Record<string, Tensor>,
  state: Record<string, Tensor>,
  methodInputs: Record<string, Tensor>,
  batch: { x: Tensor; y: Tensor },
  lr: Tensor,
): { loss: Tensor; updates: Record<string, Tensor>; bufferUpdates: Record<string, Tensor>; methodStateUpdates: Record<string, Tensor> } {
  const { model, head } = spec;
  const method = spec.method ?? {};
  const bufferUpdates: Record<string, Tensor> = {};
  g.matmulPrecision = spec.mixedPrecision?.matmul ?? 'float32';
  const logits = model.forward(g, params, batch.x, head, { training: true, bufferUpdates });
  const taskLoss = softmaxCrossEntropy(logits, batch.y);
  const byName = (ts: Tensor[]) => Object.fromEntries(trainable.map((n, i) => [n, ts[i]]));
  const terms: StepTerms = {
    g,
    model,
    head,
    params,
    trainable,
    logits,
    batch,
    inputs: methodInputs,
    // The second batch runs the forward in evaluation mode: it must not update buffers again.
    lossGradients: (bx, by) =>
      byName(
        gradients(
          softmaxCrossEntropy(model.forward(g, params, bx, head), by),
          trainable.map((n) => params[n]),
        ),
      ),
  };
  let loss = taskLoss;
  const extra = method.lossTerm?.(terms);
  if (extra) {
    if (extra.rank !== 0 || extra.dtype !== 'float32') throw new Error(`a method lossTerm must return a float32 scalar, got ${extra}`);
    loss = add(loss, extra);
  }

  const lossScale = spec.mixedPrecision?.matmul === 'float16' ? (spec.mixedPrecision.lossScale ?? DEFAULT_LOSS_SCALE) : 1;
  const scaledGrads = gradients(
    lossScale === 1 ? loss : scale(loss, lossScale),
    trainable.map((n) => params[n]),
  );
  const lossGrads = byName(lossScale === 1 ? scaledGrads : scaledGrads.map((grad) => scale(grad, 1 / lossScale)));
  const grads = method.gradientTransform ? checkedGrads(method.gradientTransform({ ...terms, grads: lossGrads }), trainable) : lossGrads;
  const updates = applyOptimizer(
    g,
    spec.optimizer,
    trainable.map((name) => ({ name, value: params[name], grad: grads[name] })),
    state,
    lr,
  );
  const methodStateUpdates: Record<string, Tensor> = {};
  const methodState = Object.keys(method.state ?? {});
  if (methodState.length) {
    if (!method.stateUpdate) throw new Error(`a step method with state (${methodState.join(', ')}) needs a stateUpdate`);
    const taskGrads =
      loss === taskLoss
        ? lossGrads
        : byName(
            gradients(
              taskLoss,
              trainable.map((n) => params[n]),
            ),
          );
    const updated = { ...params, ...Object.fromEntries(trainable.map((n) => [n, updates[n]])) };
    const next = method.stateUpdate({ ...terms, taskGrads, grads, updated });
    for (const name of methodState) {
      if (!next[name]) throw new Error(`the method's stateUpdate returned no new value for its state '${name}'`);
      methodStateUpdates[name] = next[name];
    }
  }
  g.matmulPrecision = 'float32';
  return { loss, updates, bufferUpdates, methodStateUpdates };
}

/** Labels per example of `model` (1 unless it predicts several rows per example). */
function targetsOf(model: Model): number {
  return model.targetsPerExample ?? 1;
}

/**
 * The symbolic length of 'y': 'B' for one label per example (so the graphs of one-label models
 * are what they always were), 'B*T' for T labels per example (a dim of its own: ONNX symbolic
 * dims of one name must agree, and y has T times as many rows as x).
 */
function labelsDim(model: Model): Dim {
  return targetsOf(model) === 1 ? 'B' : `B*${targetsOf(model)}`;
}

function only(tensors: Record<string, Tensor>, names: string[]): Record<string, Tensor> {
  return Object.fromEntries(names.map((n) => [n, tensors[n]]));
}

function checkedGrads(grads: Record<string, Tensor>, trainable: string[]): Record<string, Tensor> {
  const missing = trainable.filter((n) => !grads[n]);
  if (missing.length) throw new Error(`the method's gradientTransform returned no gradient for ${missing.join(', ')}`);
  return grads;
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

/**
 * The step as the body of an ONNX Scan over stacks of batches: 'x' [K, B, ...], 'y' [K, B], 'lr'
 * [K], each method batch input [K, ...], with K known only at run time; 'loss' [K]. The body is
 * the one-step graph's nodes, built once (graph size and load time do not grow with K); the
 * trained values, optimizer state, buffers and method state are Scan's state variables, carried
 * from step to step; fixed params and method constants are read from the outer graph by name.
 * Bit-identical to K one-step runs (tested).
 */
function buildScanStepGraph(spec: StepGraphSpec): StepGraph {
  const { model, head, optimizer } = spec;
  const forwardNames = model.paramsForHead(head);
  const trainable = spec.trainable ?? forwardNames;
  const paramNames = [...new Set([...forwardNames, ...trainable])];
  const method = spec.method ?? {};
  const stateSpecs = optimizerStateSpecs(
    optimizer,
    trainable.map((n) => paramSpec(model, n)),
  );
  const buffers = buffersOf(model);
  // Values carried from step to step (Scan state variables), in this order.
  const carried: { name: string; dims: Dim[] }[] = [
    ...trainable.map((n) => ({ name: n, dims: paramSpec(model, n).dims })),
    ...stateSpecs.map((s) => ({ name: s.name, dims: s.dims })),
    ...buffers.map((b) => ({ name: b.name, dims: b.dims })),
    ...Object.entries(method.state ?? {}).map(([name, dims]) => ({ name, dims })),
  ];
  const fixedParams = paramNames.filter((n) => !trainable.includes(n));
  const batchInputs = Object.entries(method.batchInputs ?? {});

  const body = new Graph(`${model.name}.step.head${head}.body`, 'scan');
  const inner: Record<string, Tensor> = {};
  for (const c of carried) inner[c.name] = body.input(`scan.in.${c.name}`, c.dims);
  const bx = body.input('scan.in.x', ['B', ...model.inputDims]);
  const by = body.input('scan.in.y', [labelsDim(model)], 'int64');
  const blr = body.input('scan.in.lr', []);
  const methodInputs: Record<string, Tensor> = {};
  for (const [name, { dims, dtype }] of batchInputs) methodInputs[name] = body.input(`scan.in.${name}`, dims, dtype);
  for (const n of fixedParams) inner[n] = body.outer(n, paramSpec(model, n).dims);
  for (const [name, dims] of Object.entries(method.constants ?? {})) methodInputs[name] = body.outer(name, dims);
  for (const name of Object.keys(method.state ?? {})) methodInputs[name] = inner[name];
  const params: Record<string, Tensor> = {};
  for (const n of paramNames) params[n] = inner[n];
  for (const b of buffers) params[b.name] = inner[b.name];
  const state = Object.fromEntries(stateSpecs.map((s) => [s.name, inner[s.name]]));
  const step = appendStep(body, spec, trainable, params, state, methodInputs, { x: bx, y: by }, blr);
  const next: Record<string, Tensor> = { ...step.updates, ...step.bufferUpdates, ...step.methodStateUpdates };
  for (const c of carried) body.output(`scan.out.${c.name}`, next[c.name] ?? inner[c.name]);
  body.output('scan.out.loss', step.loss);

  const g = new Graph(`${model.name}.step.head${head}.scan`);
  const xs = g.input('x', ['K', 'B', ...model.inputDims]);
  const ys = g.input('y', ['K', labelsDim(model)], 'int64');
  const lrs = g.input('lr', ['K']);
  const outerInputs: Record<string, Tensor> = {};
  for (const n of paramNames) outerInputs[n] = g.param(n, paramSpec(model, n).dims);
  for (const s of stateSpecs) outerInputs[s.name] = g.input(s.name, s.dims);
  for (const b of buffers) outerInputs[b.name] = g.input(b.name, b.dims);
  for (const [name, dims] of [...Object.entries(method.constants ?? {}), ...Object.entries(method.state ?? {})])
    outerInputs[name] = g.input(name, dims);
  const stacked = batchInputs.map(([name, { dims, dtype }]) => g.input(name, ['K', ...dims], dtype));
  const outs = g.nodeOutputs(
    'Scan',
    [...carried.map((c) => outerInputs[c.name]), xs, ys, lrs, ...stacked],
    [...carried.map((c) => ({ dims: c.dims, dtype: 'float32' as const })), { dims: ['K'], dtype: 'float32' }],
    { body: { graph: body }, num_scan_inputs: 3 + stacked.length },
  );
  g.output('loss', outs[carried.length]);
  const updatedBuffers = new Set(Object.keys(step.bufferUpdates));
  carried.forEach((c, i) => {
    if (buffers.some((b) => b.name === c.name) && !updatedBuffers.has(c.name)) return;
    g.output(`new.${c.name}`, outs[i]);
  });
  return { bytes: g.toBytes(), ...stepGraphInterface(spec, 'any') };
}
