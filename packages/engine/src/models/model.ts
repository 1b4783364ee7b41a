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
  params: ParamSpec[]; // all params, every head
  paramsForHead(head: number): string[]; // trunk params + that head's params
  forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number): Tensor; // logits [B, classesPerHead]
}

export function paramSpec(model: Model, name: string): ParamSpec {
  const spec = model.params.find((p) => p.name === name);
  if (!spec)
    throw new Error(`model '${model.name}' has no parameter '${name}'; its parameters are ${model.params.map((p) => p.name).join(', ')}`);
  return spec;
}
