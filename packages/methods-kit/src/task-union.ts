import { targetsOf, type SampleSet } from '@retain/data';

/** Several tasks' sample sets seen as one: position r is sample `r - offsets[j]` of set j. */
export interface TaskUnion {
  /** The sets one after another; `gather` reads each sample from the set it belongs to. */
  set: SampleSet;
  /** Where each set starts in the union. */
  offsets: number[];
  /** The set (task) that union position `r` belongs to. */
  taskOf(r: number): number;
}

/**
 * The union of sample sets of one input shape, without copying their inputs (a gather reads each
 * sample from its own set; the labels, one Int32Array, are the only copy): joint training's
 * "every task so far" as one set the trainer's epochs can run over.
 */
export function taskUnion(sets: SampleSet[]): TaskUnion {
  if (!sets.length) throw new Error('taskUnion: no sample sets');
  const inputDims = sets[0].inputDims;
  const bad = sets.findIndex((s) => s.inputDims.join() !== inputDims.join());
  if (bad >= 0) throw new Error(`taskUnion: set ${bad} has inputs [${sets[bad].inputDims}], set 0 [${inputDims}]`);
  const targets = targetsOf(sets[0]);
  const other = sets.findIndex((s) => targetsOf(s) !== targets);
  if (other >= 0) throw new Error(`taskUnion: set ${other} has ${targetsOf(sets[other])} labels per sample, set 0 ${targets}`);
  const offsets = sets.map((_, j) => sets.slice(0, j).reduce((n, s) => n + s.n, 0));
  const n = offsets[sets.length - 1] + sets[sets.length - 1].n;
  const labels = new Int32Array(n * targets);
  sets.forEach((s, j) => labels.set(s.labels.subarray(0, s.n * targets), offsets[j] * targets));
  const features = inputDims.reduce((a, b) => a * b, 1);
  const taskOf = (r: number) => {
    if (!(r >= 0 && r < n)) throw new RangeError(`taskUnion: position ${r} is outside 0..${n - 1}`);
    let j = sets.length - 1;
    while (offsets[j] > r) j--;
    return j;
  };
  const set: SampleSet = {
    n,
    inputDims,
    ...(targets !== 1 ? { targetsPerSample: targets } : {}),
    labels,
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * features);
      for (let k = 0; k < indices.length; k++) {
        const j = taskOf(indices[k]);
        sets[j].gather([indices[k] - offsets[j]], target.subarray(k * features, (k + 1) * features));
      }
      return target;
    },
  };
  return { set, offsets, taskOf };
}
