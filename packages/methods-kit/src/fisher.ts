import {
  add,
  buffersOf,
  deriveSeed,
  gradients,
  Graph,
  GraphSession,
  linearLayers as linearLayersOf,
  logSoftmax,
  matmul,
  mul,
  neg,
  paramSpec,
  reduceSum,
  Rng,
  softmaxCrossEntropy,
  square,
  sum,
  transpose,
  numel,
} from '@retain/engine';
import type { Model, Tensor, TensorMap, Value } from '@retain/engine';
import { gatherLabels, type SampleSet } from '@retain/data';

export interface FisherOptions {
  model: Model;
  head: number;
  /** Every param the head's forward pass reads. */
  params: TensorMap;
  samples: SampleSet;
  /** How many samples to average over (a seeded subset; all when the set is smaller). */
  count: number;
  seed: number;
  taskIndex: number;
  /**
   * 'auto' (default): one batched graph when every param is a linear layer's weight or bias (an
   * MLP), else one backward per sample; 'per-sample' forces the loop (tests compare the two).
   */
  method?: 'auto' | 'per-sample';
}

/** Samples per run of the batched graph (bounds its memory: activations of this many samples). */
const CHUNK = 256;

/**
 * The diagonal empirical Fisher of a task: F_i = (1/N) sum_n (d CE(x_n, y_n) / d theta_i)^2 over
 * N samples with their true labels, for every param of the head's forward pass. Exact
 * per-sample squares (not the square of a batch gradient). A sample with T labels (a causal LM's
 * sequence) has one loss, the mean over its T positions, and so one gradient. When the model is linear layers and
 * elementwise ops (an MLP), one batched graph computes the squares of CHUNK samples at once from
 * activations and output gradients (linearLayerGraph); otherwise one graph takes a single
 * sample, computes its gradient and adds the squares. Either way the running sums stay in the
 * session thread and come out once.
 */
export async function fisherDiagonal(opts: FisherOptions): Promise<TensorMap> {
  const { model, head, samples } = opts;
  const names = model.paramsForHead(head);
  const n = Math.min(opts.count, samples.n);
  if (n < 1) throw new Error(`fisherDiagonal: the task has no samples to estimate the Fisher from (count ${opts.count})`);
  const chosen = new Rng(deriveSeed(opts.seed, 'fisher-samples', opts.taskIndex)).permutation(samples.n).subarray(0, n);
  // The batched graph reads one logits row per sample: not so with several labels per sample.
  const oneRow = (model.targetsPerExample ?? 1) === 1;
  const batched = opts.method === 'per-sample' || !oneRow ? undefined : linearLayerGraph(model, head, names);
  const session = await GraphSession.create(batched ?? squaredGradientGraph(model, head, names), {
    // Buffers (batch-norm statistics) are read as they are; the forward runs in evaluation mode.
    ...values(pick(opts.params, [...names, ...buffersOf(model).map((b) => b.name)])),
    ...values(Object.fromEntries(names.map((p) => [sumName(p), zerosLike(opts.params[p])]))),
  });
  try {
    const chunk = batched ? CHUNK : 1;
    const features = numel(samples.inputDims);
    for (let start = 0; start < n; start += chunk) {
      const indices = chosen.subarray(start, Math.min(start + chunk, n));
      const x = samples.gather(indices, new Float32Array(indices.length * features));
      const feeds: Record<string, Value> = { x: { dtype: 'float32', dims: [indices.length, ...samples.inputDims], data: x } };
      if (batched) {
        const target = new Float32Array(indices.length * model.classesPerHead);
        indices.forEach((i, k) => (target[k * model.classesPerHead + samples.labels[i]] = 1));
        feeds.target = { dtype: 'float32', dims: [indices.length, model.classesPerHead], data: target };
      } else {
        const labels = gatherLabels(samples, indices);
        feeds.y = { dtype: 'int64', dims: [labels.length], data: BigInt64Array.from(labels, (v) => BigInt(v)) };
      }
      await session.run(feeds, { fetch: [], feedback: true });
    }
    const sums = await session.read(names.map(sumName));
    const fisher: TensorMap = {};
    for (const p of names) {
      const total = sums[sumName(p)];
      fisher[p] = { dims: [...total.dims], data: Float32Array.from(total.data as Float32Array, (v) => v / n) };
    }
    return fisher;
  } finally {
    await session.close();
  }
}

/** One linear layer z = a @ W + b of the forward graph, a [B, in] (one row per sample). */
interface LinearLayer {
  weight: string;
  bias: string;
  input: Tensor;
  output: Tensor;
}

/**
 * The forward pass's linear layers, when every param is read by exactly one of them (as the
 * weight [in, out] or the bias of `a @ W + b`, a of rank 2) and by nothing else; else undefined.
 */
function linearLayers(logits: Tensor, params: Record<string, Tensor>, names: string[]): LinearLayer[] | undefined {
  const paramOf = new Map(names.map((p) => [params[p], p]));
  const uses = new Map<string, number>();
  const seen = new Set<Tensor>();
  const stack = [logits];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    for (const parent of t.parents) {
      const p = paramOf.get(parent);
      if (p) uses.set(p, (uses.get(p) ?? 0) + 1);
      else stack.push(parent);
    }
  }
  const layers: LinearLayer[] = [];
  for (const l of linearLayersOf([logits], new Set(paramOf.keys()))) {
    if (l.op.type !== 'MatMul' || !l.bias || l.input.rank !== 2 || l.weight.rank !== 2 || l.bias.value.rank !== 1) continue;
    layers.push({ weight: paramOf.get(l.weight)!, bias: paramOf.get(l.bias.value)!, input: l.input, output: l.bias.added });
  }
  return names.every((p) => uses.get(p) === 1) ? layers : undefined;
}

/**
 * x [B, ...], target [B, classes] (one-hot) -> new.fisher.sum.<p> = fisher.sum.<p> + the sum over
 * the B samples of each one's squared gradient, in one pass. With L = sum_n CE_n, the gradient of
 * L w.r.t. a layer's output z holds in row n sample n's own gradient delta_n (sample n's loss reads
 * only row n), and sample n's weight gradient is the outer product a_n delta_n^T, so
 *   sum_n (dCE_n/dW_ij)^2 = sum_n a_n,i^2 delta_n,j^2 = ((a * a)^T (delta * delta))_ij
 *   sum_n (dCE_n/db_j)^2 = sum_n delta_n,j^2.
 * Undefined when the model is not made of linear layers only (see linearLayers).
 */
function linearLayerGraph(model: Model, head: number, names: string[]): Uint8Array | undefined {
  const g = new Graph(`${model.name}.fisher-batched.head${head}`);
  const x = g.input('x', ['B', ...model.inputDims]);
  const target = g.input('target', ['B', model.classesPerHead]);
  const params: Record<string, Tensor> = {};
  for (const p of names) params[p] = g.param(p, paramSpec(model, p).dims);
  for (const b of buffersOf(model)) params[b.name] = g.input(b.name, b.dims);
  const logits = model.forward(g, params, x, head);
  const layers = linearLayers(logits, params, names);
  if (!layers) return undefined;
  const loss = neg(sum(mul(target, logSoftmax(logits))));
  const deltas = gradients(
    loss,
    layers.map((l) => l.output),
  );
  layers.forEach((l, i) => {
    const d2 = square(deltas[i]);
    const weightSum = matmul(transpose(square(l.input), [1, 0]), d2);
    g.output(`new.${sumName(l.weight)}`, add(g.input(sumName(l.weight), paramSpec(model, l.weight).dims), weightSum));
    g.output(`new.${sumName(l.bias)}`, add(g.input(sumName(l.bias), paramSpec(model, l.bias).dims), reduceSum(d2, [0])));
  });
  return g.toBytes();
}

const sumName = (param: string) => `fisher.sum.${param}`;

/** x [1, ...], y [T] (the sample's labels) -> new.fisher.sum.<p> = fisher.sum.<p> + (d CE / d p)^2. */
function squaredGradientGraph(model: Model, head: number, names: string[]): Uint8Array {
  const g = new Graph(`${model.name}.fisher.head${head}`);
  const x = g.input('x', [1, ...model.inputDims]);
  const y = g.input('y', [model.targetsPerExample ?? 1], 'int64');
  const params: Record<string, Tensor> = {};
  for (const p of names) params[p] = g.param(p, paramSpec(model, p).dims);
  for (const b of buffersOf(model)) params[b.name] = g.input(b.name, b.dims);
  const loss = softmaxCrossEntropy(model.forward(g, params, x, head), y);
  const grads = gradients(
    loss,
    names.map((p) => params[p]),
  );
  names.forEach((p, i) => g.output(`new.${sumName(p)}`, add(g.input(sumName(p), paramSpec(model, p).dims), mul(grads[i], grads[i]))));
  return g.toBytes();
}

function pick(tensors: TensorMap, names: string[]): TensorMap {
  const out: TensorMap = {};
  for (const p of names) {
    if (!tensors[p]) throw new Error(`fisherDiagonal: parameter '${p}' is missing from the params given`);
    out[p] = tensors[p];
  }
  return out;
}

function zerosLike(t: { dims: number[]; data: Float32Array }) {
  return { dims: [...t.dims], data: new Float32Array(t.data.length) };
}

function values(tensors: TensorMap): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { dtype: 'float32', dims: [...t.dims], data: t.data };
  return out;
}

/** Whether fisherDiagonal takes the one-graph path for this model and head (an MLP does). */
export function hasBatchedFisher(model: Model, head: number): boolean {
  return (model.targetsPerExample ?? 1) === 1 && linearLayerGraph(model, head, model.paramsForHead(head)) !== undefined;
}
