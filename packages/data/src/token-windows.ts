import { gatherWindows, type SampleSet } from './sample-set';

/**
 * Causal language-model samples: sample i is `context` tokens (as float32 token ids, the engine's
 * input type) and its `context` labels are the token after each of them, so every position is
 * trained and scored (targetsPerSample = context).
 */
export class TokenWindowSampleSet implements SampleSet {
  readonly n: number;
  readonly inputDims: number[];
  readonly targetsPerSample: number;

  /** `inputs` and `labels` hold n * context token ids each, sample by sample. */
  constructor(
    private readonly inputs: Int32Array,
    readonly labels: Int32Array,
    private readonly context: number,
    private readonly description: string,
  ) {
    if (!Number.isInteger(context) || context < 1) throw new Error(`${description}: context must be a positive integer, got ${context}`);
    if (inputs.length !== labels.length || inputs.length % context !== 0)
      throw new Error(`${description}: ${inputs.length} inputs and ${labels.length} labels are not whole windows of ${context}`);
    this.n = inputs.length / context;
    this.inputDims = [context];
    this.targetsPerSample = context;
  }

  /**
   * The first `windows` non-overlapping windows of a token stream (stride = context): window i
   * reads tokens [i * context, (i + 1) * context] and its labels are the same run shifted by one.
   */
  static fromStream(tokens: Int32Array, context: number, windows: number, description: string): TokenWindowSampleSet {
    const used = windows * context;
    if (tokens.length < used + 1)
      throw new Error(`${description}: ${windows} windows of ${context} tokens need ${used + 1} tokens, the stream has ${tokens.length}`);
    return new TokenWindowSampleSet(tokens.subarray(0, used), tokens.subarray(1, used + 1), context, description);
  }

  /** The windows of several sets, one after another (e.g. a mixture of domains). */
  static concat(sets: TokenWindowSampleSet[], description: string): TokenWindowSampleSet {
    const context = sets[0]?.context ?? 1;
    const total = sets.reduce((n, s) => n + s.inputs.length, 0);
    const inputs = new Int32Array(total);
    const labels = new Int32Array(total);
    let at = 0;
    for (const s of sets) {
      if (s.context !== context) throw new Error(`${description}: windows of ${s.context} and ${context} tokens cannot be mixed`);
      inputs.set(s.inputs, at);
      labels.set(s.labels, at);
      at += s.inputs.length;
    }
    return new TokenWindowSampleSet(inputs, labels, context, description);
  }

  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const t = this.context;
    return gatherWindows(this.description, this.n, t, indices, out, (i, target, at) =>
      target.set(this.inputs.subarray(i * t, (i + 1) * t), at),
    );
  }
}
