import { deriveSeed, Rng } from '@retain/engine';
import type { ImageDataset } from './fashion-mnist';
import type { SampleSet } from './sample-set';

export interface TaskData {
  index: number;
  name: string;
  /** Global class ids present in this task. */
  classes: number[];
  train: SampleSet;
  test: SampleSet;
}

export interface ScenarioInfo {
  name: string;
  tasks: number;
  /** 1 (a shared head) or `tasks` (a head per task, task-IL). */
  heads: number;
  classesPerHead: number;
  inputDims: number[];
  taskNames: string[];
  /** Labels per sample (see SampleSet.targetsPerSample); absent = 1. */
  targetsPerSample?: number;
}

export interface Scenario extends ScenarioInfo {
  task(index: number): TaskData;
}

/** The plain-data part of a scenario (safe to put in a workflow payload or a report). */
export function scenarioInfo(s: ScenarioInfo): ScenarioInfo {
  return {
    name: s.name,
    tasks: s.tasks,
    heads: s.heads,
    classesPerHead: s.classesPerHead,
    inputDims: [...s.inputDims],
    taskNames: [...s.taskNames],
    // Only when set, so the payloads of one-label scenarios stay as they were.
    ...(s.targetsPerSample !== undefined ? { targetsPerSample: s.targetsPerSample } : {}),
  };
}

/** Builds a Scenario whose tasks are constructed on first use and then reused. */
export function lazyScenario(info: ScenarioInfo, build: (index: number) => TaskData): Scenario {
  const built = new Map<number, TaskData>();
  return {
    ...info,
    task(index: number): TaskData {
      if (!Number.isInteger(index) || index < 0 || index >= info.tasks) {
        throw new Error(`${info.name} has tasks 0..${info.tasks - 1}; task ${index} does not exist`);
      }
      let task = built.get(index);
      if (!task) {
        task = build(index);
        built.set(index, task);
      }
      return task;
    },
  };
}

/**
 * The order in which one epoch visits the n samples of a task: a seeded permutation that depends
 * only on (seed, task, epoch), so a run resumed mid-epoch needs no stored RNG state.
 */
export function batchOrder(n: number, seed: number, taskIndex: number, epoch: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`batchOrder needs a non-negative integer sample count, got ${n}`);
  return new Rng(deriveSeed(seed, 'batch-order', taskIndex, epoch)).permutation(n);
}

/**
 * Which samples (indices into `candidates`) a task keeps: all of them, or the first `limit` of a
 * seeded permutation, returned in ascending order for memory locality.
 */
export function chooseSubset(candidates: Int32Array, limit: number | undefined, seed: number, what: string): Int32Array {
  if (limit === undefined) return candidates;
  checkSubsetFits(limit, candidates.length, what);
  const order = new Rng(seed).permutation(candidates.length);
  const chosen = Int32Array.from(order.subarray(0, limit), (k) => candidates[k]);
  return chosen.sort();
}

/** A benchmark config that is well-formed but does not fit the data (e.g. more samples than exist). */
export class ScenarioConfigError extends Error {
  override readonly name = 'ScenarioConfigError';
}

/** Checked when a scenario is built too, so a bad per-task count fails before any training. */
export function checkSubsetFits(limit: number | undefined, available: number, what: string): void {
  if (limit !== undefined && limit > available) {
    throw new ScenarioConfigError(
      `${what}: asked for ${limit} samples but only ${available} exist; lower the per-task count or leave it unset to use all`,
    );
  }
}

export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new Error(`scenario seed must be an integer, got ${seed}`);
}

export function allIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

export type { ImageDataset };
