import type { Graph, Tensor } from '../graph';

/** One parameter of a model: its name, shape and how it is initialised. */
export interface ParamSpec {
  name: string;
  dims: number[];
  init: 'he' | 'xavier' | 'zeros';
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
