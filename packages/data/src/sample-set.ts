import { numel } from '@retain/engine';

/**
 * The samples of one task split, as the model sees them. Pixels stay uint8 in the dataset's shared
 * buffer; the task's pixel permutation and the normalisation are applied only when a batch is
 * gathered, so any number of permuted tasks costs no extra image memory.
 */
export interface SampleSet {
  n: number;
  inputDims: number[];
  /**
   * Labels per sample; absent = 1 (one class per image). A causal language model's sample of T
   * tokens has T labels, the token after each position, so every position is trained and scored.
   */
  targetsPerSample?: number;
  /**
   * Labels as the model sees them (task-local 0..k-1 for task-IL): n * targetsPerSample values,
   * sample i's at [i * targetsPerSample, (i + 1) * targetsPerSample).
   */
  labels: Int32Array;
  /** Normalised inputs for the given sample positions, [indices.length * inputSize]. */
  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array;
}

export interface PixelSampleSetOptions {
  /** What this set is, for error messages, e.g. 'task 2 (permuted-2) train'. */
  description: string;
  /** The dataset's raw images, one after another. */
  images: Uint8Array;
  inputDims: number[];
  /** For each sample of this set, the image's index in `images`. */
  sampleIndices: Int32Array;
  labels: Int32Array;
  /** uint8 pixel value -> normalised float. */
  normalisation: Float32Array;
  /** out[p] = image[permutation[p]]; null keeps the original pixel order. */
  permutation: Int32Array | null;
}

export class PixelSampleSet implements SampleSet {
  readonly n: number;
  readonly inputDims: number[];
  readonly labels: Int32Array;
  private readonly inputSize: number;

  constructor(private readonly options: PixelSampleSetOptions) {
    const { sampleIndices, labels, inputDims, permutation } = options;
    if (labels.length !== sampleIndices.length) {
      throw new Error(`${options.description}: ${labels.length} labels for ${sampleIndices.length} samples`);
    }
    this.inputSize = numel(inputDims);
    if (permutation && permutation.length !== this.inputSize) {
      throw new Error(`${options.description}: permutation of ${permutation.length} pixels for inputs of ${this.inputSize}`);
    }
    this.n = sampleIndices.length;
    this.inputDims = inputDims;
    this.labels = labels;
  }

  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const size = this.inputSize;
    const needed = indices.length * size;
    if (out && out.length < needed) {
      throw new Error(
        `${this.options.description}: gather of ${indices.length} samples needs an output of ${needed} floats, got ${out.length}`,
      );
    }
    const target = out ? out.subarray(0, needed) : new Float32Array(needed);
    const { images, sampleIndices, normalisation, permutation } = this.options;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.n) {
        throw new Error(`${this.options.description}: sample index ${i} (position ${k} of the batch) is outside 0..${this.n - 1}`);
      }
      const source = sampleIndices[i] * size;
      const base = k * size;
      if (permutation) {
        for (let p = 0; p < size; p++) target[base + p] = normalisation[images[source + permutation[p]]];
      } else {
        for (let p = 0; p < size; p++) target[base + p] = normalisation[images[source + p]];
      }
    }
    return target;
  }
}

/**
 * A batch of token windows: the windows at `indices` of a set of `n`, `context` floats each, into
 * `out` (or a new array), after the checks every window gather makes; `copyWindow(i, target, at)`
 * writes window i's tokens at target[at..]. Shared by the byte windows and the token windows.
 */
export function gatherWindows(
  description: string,
  n: number,
  context: number,
  indices: ArrayLike<number>,
  out: Float32Array | undefined,
  copyWindow: (i: number, target: Float32Array, at: number) => void,
): Float32Array {
  const needed = indices.length * context;
  const target = out ? out.subarray(0, needed) : new Float32Array(needed);
  if (target.length < needed)
    throw new Error(`${description}: gather of ${indices.length} windows needs ${needed} floats, got ${target.length}`);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new Error(`${description}: window ${i} (position ${k} of the batch) is outside 0..${n - 1}`);
    copyWindow(i, target, k * context);
  }
  return target;
}

/** Labels per sample of `set` (1 unless it says otherwise). */
export function targetsOf(set: Pick<SampleSet, 'targetsPerSample'>): number {
  return set.targetsPerSample ?? 1;
}

/**
 * The labels of the samples at `indices`, in batch order: indices.length * targetsPerSample
 * values, as the step graph's 'y' and the logits' rows line up.
 */
export function gatherLabels(set: SampleSet, indices: ArrayLike<number>, out?: Int32Array): Int32Array {
  const t = targetsOf(set);
  const needed = indices.length * t;
  const target = out ? out.subarray(0, needed) : new Int32Array(needed);
  if (target.length < needed)
    throw new Error(`gatherLabels: ${indices.length} samples need ${needed} labels, got room for ${target.length}`);
  if (t === 1) {
    for (let k = 0; k < indices.length; k++) target[k] = set.labels[indices[k]];
  } else {
    for (let k = 0; k < indices.length; k++) target.set(set.labels.subarray(indices[k] * t, (indices[k] + 1) * t), k * t);
  }
  return target;
}

/** Lookup table (x/255 - mean) / std for every uint8 value, computed once so gathers are exact and cheap. */
export function normalisationTable(mean: number, std: number): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std;
  return table;
}
