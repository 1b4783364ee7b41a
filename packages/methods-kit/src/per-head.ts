import {
  add,
  gradients,
  logSoftmax,
  mul,
  neg,
  softmaxCrossEntropy,
  sum,
  type Model,
  type StepMethod,
  type StepTerms,
  type Tensor,
  type Value,
  numel,
} from '@retain/engine';
import type { Namespace } from './namespace';

/**
 * Samples of several tasks trained through a model with a head per task (task-IL): each sample's
 * loss must go through its own task's head. The samples ride along with every step as batch
 * inputs in a namespace of their own ('replay.mem.'): 'x' [M, ...inputDims] and, for each head
 * h, 'target.<h>' [M, classes]: the one-hot label times the sample's weight in the rows of head
 * h's samples, zero elsewhere. The loss term is then
 * sum_h sum(-target_h * logSoftmax(forward(x, h))) = sum_n w_n CE_n(head of n), with no
 * per-sample branching in the graph. The weights are fed, so one graph serves steps of any size.
 */
export interface HeadSamples {
  x: Float32Array;
  y: Int32Array;
  /** Each sample's head (its task's index in task-IL). */
  head: Int32Array;
  size: number;
}

/** Every param of the heads `heads` read (trunk included), each once. */
export function paramsOfHeads(model: Model, heads: number[]): string[] {
  return [...new Set(heads.flatMap((h) => model.paramsForHead(h)))];
}

/** The step inputs and the per-head loss of the samples (see HeadSamples). */
export function perHeadSamples(names: Namespace, model: Model, heads: number[]) {
  // One-hot targets per sample: a model with several label rows per example has no place here
  // (and has one head: a causal LM's vocabulary).
  if ((model.targetsPerExample ?? 1) !== 1)
    throw new Error(`per-head samples need one label per example; ${model.name} predicts ${model.targetsPerExample} rows per example`);
  const xName = names.name('x');
  const targetName = (head: number) => names.name('target', head);
  /** Fed scalar multiplying the mean loss of the trainer's own batch (its share of the whole). */
  const currentScaleName = names.name('current-scale');
  const batchInputs: NonNullable<StepMethod['batchInputs']> = {
    [xName]: { dims: ['M', ...model.inputDims], dtype: 'float32' },
    [currentScaleName]: { dims: [], dtype: 'float32' },
  };
  for (const h of heads) batchInputs[targetName(h)] = { dims: ['M', model.classesPerHead], dtype: 'float32' };

  /** sum_n w_n CE_n through each sample's own head (evaluation-mode forward: no buffer updates). */
  const samplesLoss = ({ g, model: m, params, inputs }: StepTerms): Tensor =>
    heads.map((h) => neg(sum(mul(inputs[targetName(h)], logSoftmax(m.forward(g, params, inputs[xName], h)))))).reduce((a, b) => add(a, b));

  /** (scale - 1) * the trainer's batch loss + the samples' loss: the trainer's batch then weighs `scale`. */
  const lossTerm = (terms: StepTerms): Tensor =>
    add(mul(softmaxCrossEntropy(terms.logits, terms.batch.y), terms.inputs[currentScaleName]), samplesLoss(terms));

  /** Gradients of the samples' loss alone, by trainable param (A-GEM's reference gradient). */
  const samplesGradients = (terms: StepTerms): Record<string, Tensor> => {
    const grads = gradients(
      samplesLoss(terms),
      terms.trainable.map((n) => terms.params[n]),
    );
    return Object.fromEntries(terms.trainable.map((n, i) => [n, grads[i]]));
  };

  /**
   * The feeds of one step: `samples` with weight `weight` each, and `currentScale` - 1 as the
   * multiplier of the trainer's batch loss (lossTerm adds it to the loss the trainer already has).
   */
  const feeds = (samples: HeadSamples, weight: number, currentScale: number): Record<string, Value> => {
    const features = numel(model.inputDims);
    const classes = model.classesPerHead;
    const out: Record<string, Value> = {
      [xName]: { dtype: 'float32', dims: [samples.size, ...model.inputDims], data: samples.x.subarray(0, samples.size * features) },
      [currentScaleName]: { dtype: 'float32', dims: [], data: Float32Array.of(currentScale - 1) },
    };
    for (const h of heads) {
      const target = new Float32Array(samples.size * classes);
      for (let n = 0; n < samples.size; n++) {
        if (samples.head[n] !== h) continue;
        if (samples.y[n] < 0 || samples.y[n] >= classes)
          throw new Error(`sample ${n} has label ${samples.y[n]}, outside head ${h}'s ${classes} classes`);
        target[n * classes + samples.y[n]] = weight;
      }
      out[targetName(h)] = { dtype: 'float32', dims: [samples.size, classes], data: target };
    }
    for (let n = 0; n < samples.size; n++)
      if (!heads.includes(samples.head[n]))
        throw new Error(`sample ${n} belongs to head ${samples.head[n]}, not one of ${heads.join(', ')}`);
    return out;
  };

  return { batchInputs, lossTerm, samplesLoss, samplesGradients, feeds };
}
