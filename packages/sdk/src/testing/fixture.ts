import { mlp, numel, Rng, type Model } from '@retain/engine';
import type { SampleSet, Scenario, ScenarioInfo, TaskData } from '@retain/data';

/**
 * Small synthetic data for conformance checks: deterministic, in memory, learnable (each class
 * has its own mean), so checks run in milliseconds without a dataset on disk.
 */
export interface FixtureOptions {
  /** Per-example input dims (default [6]). */
  inputDims?: number[];
  classesPerHead?: number;
  /** 1: a shared head; `tasks`: a head per task (default). */
  heads?: number;
  tasks?: number;
  trainPerTask?: number;
  testPerTask?: number;
  /**
   * Draws one example's inputs (default: its class's mean plus noise). A model that reads token
   * ids (a transformer) gives integers in its vocabulary here.
   */
  example?: (rng: Rng, label: number, size: number) => Float32Array;
  /**
   * Labels per sample (default 1). With T > 1 the samples are token sequences for a causal LM:
   * inputDims must be [T], sample i's tokens are (i + t) mod classesPerHead (shifted by the task)
   * and its labels the token after each, so the sequences are learnable; `example` is not used.
   */
  targetsPerSample?: number;
}

/**
 * Sequences of T tokens counting up modulo `classes` from sample i's start, labelled with the
 * next token at every position (SampleSet.targetsPerSample = T).
 */
export function syntheticSequences(n: number, T: number, classes: number, shift: number): SampleSet {
  const x = Float32Array.from({ length: n * T }, (_, k) => (Math.floor(k / T) + (k % T) + shift) % classes);
  const labels = Int32Array.from({ length: n * T }, (_, k) => (Math.floor(k / T) + (k % T) + shift + 1) % classes);
  return {
    n,
    inputDims: [T],
    targetsPerSample: T,
    labels,
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * T);
      for (let k = 0; k < indices.length; k++) target.set(x.subarray(indices[k] * T, (indices[k] + 1) * T), k * T);
      return target;
    },
  };
}

export function syntheticSet(
  n: number,
  inputDims: number[],
  classes: number,
  seed: number,
  example?: FixtureOptions['example'],
): SampleSet {
  const size = numel(inputDims);
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const x = new Float32Array(n * size);
  const draw =
    example ??
    ((r: Rng, label: number, s: number) =>
      Float32Array.from({ length: s }, (_, k) => (k % classes === label ? 1 : 0) + 0.5 * (r.float() - 0.5)));
  for (let i = 0; i < n; i++) x.set(draw(rng, labels[i], size), i * size);
  return {
    n,
    inputDims: [...inputDims],
    labels,
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * size);
      for (let k = 0; k < indices.length; k++) target.set(x.subarray(indices[k] * size, (indices[k] + 1) * size), k * size);
      return target;
    },
  };
}

/** A scenario of synthetic tasks (task t's labels are 0..classesPerHead-1 under head t, or the shared head). */
export function syntheticScenario(options: FixtureOptions = {}): Scenario {
  const inputDims = options.inputDims ?? [6];
  const classesPerHead = options.classesPerHead ?? 3;
  const tasks = options.tasks ?? 2;
  const targets = options.targetsPerSample ?? 1;
  if (targets > 1 && (inputDims.length !== 1 || inputDims[0] !== targets))
    throw new Error(`syntheticScenario: targetsPerSample ${targets} needs inputDims [${targets}] (a token per label), got [${inputDims}]`);
  // Sequences: each task's count starts elsewhere (3 tokens apart), its test set one token on.
  const set = (n: number, seed: number, shift: number) =>
    targets > 1 ? syntheticSequences(n, targets, classesPerHead, shift) : syntheticSet(n, inputDims, classesPerHead, seed, options.example);
  const info: ScenarioInfo = {
    name: 'conformance',
    tasks,
    heads: options.heads ?? tasks,
    classesPerHead,
    inputDims,
    taskNames: Array.from({ length: tasks }, (_, t) => `synthetic-${t}`),
    ...(targets > 1 ? { targetsPerSample: targets } : {}),
  };
  const built = new Map<number, TaskData>();
  return {
    ...info,
    task: (index) => {
      if (!Number.isInteger(index) || index < 0 || index >= tasks) throw new Error(`task ${index} is out of range 0..${tasks - 1}`);
      let task = built.get(index);
      if (!task) {
        task = {
          index,
          name: info.taskNames[index],
          classes: Array.from({ length: classesPerHead }, (_, c) => (info.heads === 1 ? c : index * classesPerHead + c)),
          train: set(options.trainPerTask ?? 32, 1000 + index, 3 * index),
          test: set(options.testPerTask ?? 16, 2000 + index, 3 * index + 1),
        };
        built.set(index, task);
      }
      return task;
    },
  };
}

/** The default model of the checks: an MLP shaped by the scenario. */
export function fixtureModel(scenario: ScenarioInfo): Model {
  return mlp({
    inputSize: numel(scenario.inputDims),
    hidden: [8],
    classesPerHead: scenario.classesPerHead,
    heads: scenario.heads,
  });
}

export const headOf = (scenario: ScenarioInfo, taskIndex: number): number => (scenario.heads === 1 ? 0 : taskIndex);
