import { deriveSeed, Rng, type TensorMap } from '@retain/engine';
import { gatherLabels, targetsOf, type TaskData } from '@retain/data';
import type { Namespace } from './namespace';

/**
 * A replay buffer of past samples, kept as tensors in the method's state artifact, in a
 * namespace of its own ('replay.', 'agem.memory.'): 'x' [M, features], 'y' [M] (labels as
 * float32; [M, T] when samples have T labels each, a causal LM's sequences), 'task' [M] (each sample's task, so task-IL can route it through its own head),
 * 'seen' [keys + 1] (how many samples of each class key the buffer was offered, then the total),
 * so sampling resumes exactly after a crash or on the next task.
 */
export interface ReplayBuffer {
  x: Float32Array;
  /** size * targets labels, row k's at [k * targets, (k + 1) * targets). */
  y: Int32Array;
  /** Labels per sample (SampleSet.targetsPerSample); 1 for one class per sample. */
  targets: number;
  /** Each sample's task index. */
  task: Int32Array;
  size: number;
  features: number;
  /** Samples offered so far, per class key (the label; task * classesPerTask + label in task-IL). */
  seenPerClass: number[];
  /** Samples offered so far, all labels. */
  seen: number;
}

export type BufferPolicy = 'reservoir' | 'class-balanced';

/**
 * Reservoir sampling (Vitter's algorithm R) over `stream`: once `capacity` items are held, the
 * k-th item offered replaces a random slot with probability capacity / k, so every item offered
 * so far is held with probability capacity / seen. Returns the new contents and count.
 */
export function reservoirOffer<T>(held: T[], seen: number, capacity: number, stream: Iterable<T>, rng: Rng): { held: T[]; seen: number } {
  const out = held.slice(0, capacity);
  let k = seen;
  for (const item of stream) {
    k++;
    if (out.length < capacity) out.push(item);
    else {
      const slot = rng.int(k);
      if (slot < capacity) out[slot] = item;
    }
  }
  return { held: out, seen: k };
}

/**
 * Class-balanced reservoir: each label seen so far gets an equal share of the capacity
 * (floor(capacity / labels)); within a label, reservoir sampling over that label's stream. When
 * a new label arrives the shares shrink and each label keeps a random subset of what it held
 * (a uniform subset of a uniform sample is still uniform).
 */
export function classBalancedOffer<T>(
  held: { item: T; label: number }[],
  seenPerClass: number[],
  capacity: number,
  stream: { item: T; label: number }[],
  rng: Rng,
): { held: { item: T; label: number }[]; seenPerClass: number[] } {
  const seen = [...seenPerClass];
  const labels = new Set<number>([...seen.flatMap((n, c) => (n > 0 ? [c] : [])), ...stream.map((s) => s.label)]);
  const share = Math.floor(capacity / Math.max(labels.size, 1));
  const out: { item: T; label: number }[] = [];
  for (const c of [...labels].sort((a, b) => a - b)) {
    let mine = held.filter((h) => h.label === c);
    if (mine.length > share) {
      rng.shuffle(mine);
      mine = mine.slice(0, share);
    }
    const offered = reservoirOffer(
      mine,
      seen[c] ?? 0,
      share,
      stream.filter((s) => s.label === c),
      rng,
    );
    seen[c] = offered.seen;
    out.push(...offered.held);
  }
  for (let c = 0; c < seen.length; c++) seen[c] ??= 0;
  return { held: out, seenPerClass: seen };
}

/**
 * The buffer stored under `keys` in a method state, or an empty one. `targets` is labels per
 * sample of the data it will hold (an empty buffer takes it; a stored one must match it).
 */
export function readBuffer(state: TensorMap | undefined, keys: Namespace, features: number, targets = 1): ReplayBuffer {
  const x = state?.[keys.name('x')];
  const y = state?.[keys.name('y')];
  const seen = state?.[keys.name('seen')];
  const task = state?.[keys.name('task')];
  if (!x || !y || !seen)
    return { x: new Float32Array(0), y: new Int32Array(0), targets, task: new Int32Array(0), size: 0, features, seenPerClass: [], seen: 0 };
  if (x.dims[1] !== features) throw new Error(`the replay buffer holds samples of ${x.dims[1]} features, but this model takes ${features}`);
  const stored = y.dims[1] ?? 1;
  if (stored !== targets) throw new Error(`the replay buffer holds ${stored} labels per sample, but this task's samples have ${targets}`);
  const counts = Array.from(seen.data);
  return {
    x: x.data,
    y: Int32Array.from(y.data),
    targets,
    // Buffers stored before task ids were kept come from shared-head runs (the only ones replay
    // accepted then), where every sample goes through head 0.
    task: task ? Int32Array.from(task.data) : new Int32Array(y.dims[0]),
    size: y.dims[0],
    features,
    seenPerClass: counts.slice(0, -1),
    seen: counts[counts.length - 1],
  };
}

/** The buffer as state tensors under `keys`. */
export function writeBuffer(buffer: ReplayBuffer, keys: Namespace): TensorMap {
  return {
    [keys.name('x')]: { dims: [buffer.size, buffer.features], data: buffer.x },
    // [M] for one label per sample, as buffers always were stored.
    [keys.name('y')]: { dims: buffer.targets === 1 ? [buffer.size] : [buffer.size, buffer.targets], data: Float32Array.from(buffer.y) },
    [keys.name('task')]: { dims: [buffer.size], data: Float32Array.from(buffer.task) },
    [keys.name('seen')]: { dims: [buffer.seenPerClass.length + 1], data: Float32Array.from([...buffer.seenPerClass, buffer.seen]) },
  };
}

/** Labels restart in every task when the model has a head per task (task-IL): 0 = one label space. */
export const classesPerTaskOf = (model: { heads: number; classesPerHead: number }) => (model.heads > 1 ? model.classesPerHead : 0);

/**
 * Offers every training sample of `task` to the buffer, in a seeded order (the stream the task
 * was trained on, up to order), and returns the new buffer. A pure function of its inputs.
 * `classesPerTask` > 0 when labels restart in every task (task-IL, a head per task): classes are
 * then told apart by (task, label), so class-balancing keeps every task's classes. Samples with
 * several labels (a causal LM's sequences) have no class: 'reservoir' only, every sample under key 0.
 */
export function offerTask(
  buffer: ReplayBuffer,
  task: TaskData,
  capacity: number,
  policy: BufferPolicy,
  seed: number,
  classesPerTask = 0,
): ReplayBuffer {
  const targets = targetsOf(task.train);
  if (targets !== buffer.targets)
    throw new Error(`the replay buffer holds ${buffer.targets} labels per sample, but task ${task.index}'s samples have ${targets}`);
  if (targets > 1 && policy === 'class-balanced')
    throw new Error(
      `a class-balanced buffer needs one class per sample; task ${task.index}'s samples have ${targets} labels each (a sequence): use policy 'reservoir'`,
    );
  const rng = new Rng(deriveSeed(seed, 'replay-buffer', task.index));
  const order = new Rng(deriveSeed(seed, 'replay-stream', task.index)).permutation(task.train.n);
  const keyOf = (label: number, taskIndex: number) => (targets > 1 ? 0 : taskIndex * classesPerTask + label);
  // Items: >= 0 a sample of this task, < 0 slot (-1 - k) of the old buffer; `label` is the class key.
  const old = Array.from({ length: buffer.size }, (_, k) => ({ item: -1 - k, label: keyOf(buffer.y[k * targets], buffer.task[k]) }));
  const stream = Array.from(order, (i) => ({ item: i, label: keyOf(task.train.labels[i * targets], task.index) }));
  let held: { item: number; label: number }[];
  let seenPerClass: number[];
  if (policy === 'reservoir') {
    held = reservoirOffer(old, buffer.seen, capacity, stream, rng).held;
    const counts = [...buffer.seenPerClass];
    for (const s of stream) counts[s.label] = (counts[s.label] ?? 0) + 1;
    seenPerClass = Array.from(counts, (v) => v ?? 0);
  } else {
    ({ held, seenPerClass } = classBalancedOffer(old, buffer.seenPerClass, capacity, stream, rng));
  }
  const f = buffer.features;
  const x = new Float32Array(held.length * f);
  const y = new Int32Array(held.length * targets);
  const taskOf = new Int32Array(held.length);
  const row = new Float32Array(f);
  held.forEach((h, k) => {
    if (h.item < 0) {
      const slot = -1 - h.item;
      x.set(buffer.x.subarray(slot * f, (slot + 1) * f), k * f);
      y.set(buffer.y.subarray(slot * targets, (slot + 1) * targets), k * targets);
      taskOf[k] = buffer.task[slot];
    } else {
      x.set(task.train.gather([h.item], row), k * f);
      y.set(gatherLabels(task.train, [h.item]), k * targets);
      taskOf[k] = task.index;
    }
  });
  return { x, y, targets, task: taskOf, size: held.length, features: f, seenPerClass, seen: buffer.seen + stream.length };
}

/** `count` buffer rows drawn uniformly with replacement, seeded by (seed, what, task, step). */
export function sampleBuffer(buffer: ReplayBuffer, count: number, seed: number, what: string, taskIndex: number, step: number) {
  const rng = new Rng(deriveSeed(seed, what, taskIndex, step));
  return gatherRows(buffer, count, () => rng.int(buffer.size));
}

/**
 * How a method draws its memory batches from a buffer:
 * - 'with-replacement': every row drawn uniformly and independently (`sampleBuffer`), so a step
 *   may repeat a row and a pass over the task may miss some;
 * - 'cycle': the rows of a shuffled buffer in turn, reshuffled after each pass (`cycleBuffer`), so
 *   every row is replayed equally often, to within one pass.
 */
export const MEMORY_SAMPLINGS = ['with-replacement', 'cycle'] as const;

export type MemorySampling = (typeof MEMORY_SAMPLINGS)[number];

/**
 * Step `step`'s `count` rows when a buffer is cycled through: rows step * count .. step * count +
 * count - 1 of an endless stream of passes, pass p a permutation of the buffer seeded by (seed,
 * what, task, 'pass', p). A pure function of its arguments (a resumed task or a K-step run draws
 * the same rows), and an exact cycle when every step draws the same count (a short last batch of
 * an epoch reads a window of the same stream that overlaps the one before).
 */
export function cycleBuffer(buffer: ReplayBuffer, count: number, seed: number, what: string, taskIndex: number, step: number) {
  const passes = new Map<number, Int32Array>();
  const passOf = (p: number) => {
    let order = passes.get(p);
    if (!order) {
      order = new Rng(deriveSeed(seed, what, taskIndex, 'pass', p)).permutation(buffer.size);
      passes.set(p, order);
    }
    return order;
  };
  const start = step * count;
  let k = 0;
  return gatherRows(buffer, count, () => {
    const position = start + k++;
    return passOf(Math.floor(position / buffer.size))[position % buffer.size];
  });
}

/** `count` memory rows for step `step`, drawn as `sampling` says (see `MemorySampling`). */
export function drawMemory(
  sampling: MemorySampling,
  buffer: ReplayBuffer,
  count: number,
  seed: number,
  what: string,
  taskIndex: number,
  step: number,
) {
  return (sampling === 'cycle' ? cycleBuffer : sampleBuffer)(buffer, count, seed, what, taskIndex, step);
}

/** `count` rows of the buffer, row k being `nextRow()`'s k-th answer: inputs, labels (count * targets) and each row's task (its head). */
function gatherRows(buffer: ReplayBuffer, count: number, nextRow: () => number) {
  const f = buffer.features;
  const t = buffer.targets;
  const x = new Float32Array(count * f);
  const y = new Int32Array(count * t);
  const head = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const r = nextRow();
    x.set(buffer.x.subarray(r * f, (r + 1) * f), k * f);
    y.set(buffer.y.subarray(r * t, (r + 1) * t), k * t);
    head[k] = buffer.task[r];
  }
  return { x, y, head, size: count };
}
