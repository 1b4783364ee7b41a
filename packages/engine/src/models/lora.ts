import { add, matmul, mul, type Graph, type Tensor } from '../graph';
import { deriveSeed } from '../rng';
import type { TensorMap } from '../tensor';
import { initParam } from './init';
import type { Model, ParamSpec } from './model';

/**
 * Low-rank adapters (LoRA, Hu et al. 2021, arXiv:2106.09685) around any model: each adapted
 * [in, out] weight W is read by the forward as W + (alpha / rank) * A B, with A [in, rank] and
 * B [rank, out] new parameters. The model's own forward is untouched (it receives the adapted
 * tensor in place of W), so every model gets adapters without knowing of them.
 */
export interface LoraOptions {
  /** The [in, out] weights to adapt, by parameter name. */
  weights: string[];
  rank: number;
  alpha: number;
  /**
   * Several adapters per weight, by label (one per task: `<weight>.lora.<label>.A`); absent: one
   * adapter, `<weight>.lora.A`. The forward reads W + scale * sum of A B over `labelsForHead(head)`.
   */
  labels?: string[];
  /** The labels head `head`'s forward reads (a head per task: its own); default every label. */
  labelsForHead?(head: number): string[];
}

/** The adapter factors of `weight` (of adapter `label`, when there are several): A [in, rank] and B [rank, out]. */
export const loraA = (weight: string, label?: string): string => (label === undefined ? `${weight}.lora.A` : `${weight}.lora.${label}.A`);
export const loraB = (weight: string, label?: string): string => (label === undefined ? `${weight}.lora.B` : `${weight}.lora.${label}.B`);

/** Whether a parameter name is a LoRA adapter factor (what `withLora` adds). */
export const isLoraParam = (name: string): boolean => /\.lora(\.[^.]+)?\.[AB]$/.test(name);

/** The adapters' labels: `[undefined]` for the single adapter. */
const labelsOf = (options: LoraOptions): Array<string | undefined> => options.labels ?? [undefined];
const labelsForHead = (options: LoraOptions, head: number): Array<string | undefined> =>
  options.labels ? (options.labelsForHead?.(head) ?? options.labels) : [undefined];

/** alpha / rank: the scale of the adapters' product, so changing the rank needs no new learning rate (Hu et al. §4.1). */
export const loraScale = (options: Pick<LoraOptions, 'rank' | 'alpha'>): number => options.alpha / options.rank;

/** W + scale * A B on the graph: the weight the adapted forward reads. */
export function loraWeight(w: Tensor, a: Tensor, b: Tensor, scale: number): Tensor {
  return add(w, mul(matmul(a, b), scale));
}

/**
 * The adapters' parameters: A drawn N(0, 1/in) (the paper's random Gaussian A, at the scale of a
 * Kaiming init with gain 1), B zeros, so the adapted model starts as the model itself.
 */
export function loraParams(model: Model, options: LoraOptions): ParamSpec[] {
  if (!Number.isInteger(options.rank) || options.rank < 1) throw new Error(`LoRA: rank must be a positive integer, got ${options.rank}`);
  return options.weights.flatMap((weight) => {
    const spec = model.params.find((p) => p.name === weight);
    if (!spec) throw new Error(`LoRA: model '${model.name}' has no parameter '${weight}'`);
    if (spec.dims.length !== 2)
      throw new Error(`LoRA: '${weight}' has dims [${spec.dims.join(', ')}]; only [in, out] matrices get adapters`);
    const [inputs, outputs] = spec.dims;
    return labelsOf(options).flatMap((label) => [
      { name: loraA(weight, label), dims: [inputs, options.rank], init: 'normal' as const, std: 1 / Math.sqrt(inputs) },
      { name: loraB(weight, label), dims: [options.rank, outputs], init: 'zeros' as const },
    ]);
  });
}

/**
 * The model with adapters: its params plus each adapted weight's A and B, and a forward that reads
 * each adapted weight as W + scale * A B. A head's params include the adapters of its weights.
 */
export function withLora(model: Model, options: LoraOptions): Model {
  const adapters = loraParams(model, options);
  const scale = loraScale(options);
  return {
    ...model,
    name: `${model.name}.lora`,
    params: [...model.params, ...adapters],
    paramsForHead: (head) => {
      const names = model.paramsForHead(head);
      const labels = labelsForHead(options, head);
      return [
        ...names,
        ...options.weights.filter((w) => names.includes(w)).flatMap((w) => labels.flatMap((l) => [loraA(w, l), loraB(w, l)])),
      ];
    },
    forward: (g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode) => {
      const seen = { ...params };
      const labels = labelsForHead(options, head);
      for (const weight of options.weights) {
        if (!params[weight]) continue; // another head's weight
        seen[weight] = labels.reduce((w, l) => loraWeight(w, params[loraA(weight, l)], params[loraB(weight, l)], scale), params[weight]);
      }
      return model.forward(g, seen, x, head, mode);
    },
  };
}

/** Fresh adapters (A random, B zero), A drawn from deriveSeed(seed, 'lora', label) so each task's can differ. */
export function initLoraParams(model: Model, options: LoraOptions, seed: number, label: string | number): TensorMap {
  const stream = deriveSeed(seed, 'lora', label);
  return Object.fromEntries(loraParams(model, options).map((spec) => [spec.name, initParam(spec, stream)]));
}

/**
 * W + scale * A B for every adapted weight, as float32 (the product summed in float64, then
 * rounded once): the base that computes what the adapted model computed, up to that rounding.
 * Returns only the merged weights.
 */
export function mergeLora(params: TensorMap, options: LoraOptions): TensorMap {
  const scale = loraScale(options);
  const out: TensorMap = {};
  for (const weight of options.weights) {
    const w = params[weight];
    const a = params[loraA(weight)];
    const b = params[loraB(weight)];
    if (!w || !a || !b)
      throw new Error(`LoRA merge: '${weight}' needs its weight and both adapters, ${loraA(weight)} and ${loraB(weight)}`);
    const [rows, cols] = w.dims;
    const r = a.dims[1];
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let product = 0;
        for (let k = 0; k < r; k++) product += a.data[i * r + k] * b.data[k * cols + j];
        data[i * cols + j] = w.data[i * cols + j] + scale * product;
      }
    }
    out[weight] = { dims: [rows, cols], data };
  }
  return out;
}
