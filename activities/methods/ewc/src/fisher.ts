import { add, buffersOf, deriveSeed, gradients, Graph, GraphSession, mul, paramSpec, Rng, softmaxCrossEntropy } from '@retain/engine';
import type { Model, Tensor, TensorMap, Value } from '@retain/engine';
import type { SampleSet } from '@retain/data';

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
}

/**
 * The diagonal empirical Fisher of a task: F_i = (1/N) sum_n (d CE(x_n, y_n) / d theta_i)^2 over
 * N samples with their true labels, for every param of the head's forward pass. Exact
 * per-sample squares (not the square of a batch gradient): one graph takes a single sample,
 * computes its gradient and adds the squares to a running sum that stays in the session thread,
 * so the loop moves one sample in per run and the sums out once.
 */
export async function fisherDiagonal(opts: FisherOptions): Promise<TensorMap> {
  const { model, head, samples } = opts;
  const names = model.paramsForHead(head);
  const n = Math.min(opts.count, samples.n);
  if (n < 1) throw new Error(`fisherDiagonal: the task has no samples to estimate the Fisher from (count ${opts.count})`);
  const chosen = new Rng(deriveSeed(opts.seed, 'fisher-samples', opts.taskIndex)).permutation(samples.n).subarray(0, n);

  const session = await GraphSession.create(squaredGradientGraph(model, head, names), {
    // Buffers (batch-norm statistics) are read as they are; the forward runs in evaluation mode.
    ...values(pick(opts.params, [...names, ...buffersOf(model).map((b) => b.name)])),
    ...values(Object.fromEntries(names.map((p) => [sumName(p), zerosLike(opts.params[p])]))),
  });
  try {
    const features = samples.inputDims.reduce((a, b) => a * b, 1);
    const x = new Float32Array(features);
    for (const i of chosen) {
      samples.gather([i], x);
      await session.run(
        {
          x: { dtype: 'float32', dims: [1, ...samples.inputDims], data: x.slice() },
          y: { dtype: 'int64', dims: [1], data: new BigInt64Array([BigInt(samples.labels[i])]) },
        },
        { fetch: [], feedback: true },
      );
    }
    const sums = await session.read(names.map(sumName));
    const fisher: TensorMap = {};
    for (const p of names) {
      const sum = sums[sumName(p)];
      fisher[p] = { dims: [...sum.dims], data: Float32Array.from(sum.data as Float32Array, (v) => v / n) };
    }
    return fisher;
  } finally {
    await session.close();
  }
}

const sumName = (param: string) => `fisher.sum.${param}`;

/** x [1, ...], y [1] -> new.fisher.sum.<p> = fisher.sum.<p> + (d CE / d p)^2. */
function squaredGradientGraph(model: Model, head: number, names: string[]): Uint8Array {
  const g = new Graph(`${model.name}.fisher.head${head}`);
  const x = g.input('x', [1, ...model.inputDims]);
  const y = g.input('y', [1], 'int64');
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
