import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PermutedConfig, SplitConfig } from './config';
import type { ScenarioInfo } from './scenario';
import { DEFAULT_TEXT_DIR } from './text';

/**
 * What a benchmark is before any data is read: the scenario's shape and the most samples a task
 * has, so spec validation can check sizes, build the model's shapes and bound memory without
 * loading a dataset.
 */
export interface ScenarioOutline extends ScenarioInfo {
  /** The most training samples one task has (after trainPerTask). */
  trainPerTask: number;
  /** The most test samples one task has (after testPerTask): the largest evaluation batch. */
  testPerTask: number;
  /** Bytes the dataset occupies in a worker's memory once loaded (all tasks share it). */
  datasetBytes: number;
}

/** A config setting that does not fit the data; `field` is relative to the benchmark's `config`. */
export interface OutlineProblem {
  field: string;
  problem: string;
}

export type OutlineResult = { outline: ScenarioOutline; problems: OutlineProblem[] };

/**
 * Fashion-MNIST as Debian's dataset-fashion-mnist ships it (Xiao et al. 2017): 60,000 training and
 * 10,000 test images of 28x28 pixels, 6,000 and 1,000 of each of the 10 classes. Fixed by the
 * dataset, so a spec's sizes are checked against them without reading it.
 */
export const FASHION_MNIST = { train: 60_000, test: 10_000, classes: 10, pixels: 784 } as const;

function fits(limit: number | undefined, available: number, field: string, what: string): OutlineProblem[] {
  return limit !== undefined && limit > available
    ? [{ field, problem: `${limit} samples asked for, but ${what} only ${available}; lower it or leave it unset to use all` }]
    : [];
}

const imageBytes = (FASHION_MNIST.train + FASHION_MNIST.test) * FASHION_MNIST.pixels;

export function permutedOutline(config: PermutedConfig): OutlineResult {
  const taskNames = Array.from({ length: config.tasks }, (_, t) => `permuted-${t}`);
  return {
    outline: {
      name: 'permuted-fashion-mnist',
      tasks: config.tasks,
      heads: 1,
      classesPerHead: FASHION_MNIST.classes,
      inputDims: [FASHION_MNIST.pixels],
      taskNames,
      trainPerTask: Math.min(config.trainPerTask ?? FASHION_MNIST.train, FASHION_MNIST.train),
      testPerTask: Math.min(config.testPerTask ?? FASHION_MNIST.test, FASHION_MNIST.test),
      datasetBytes: imageBytes,
    },
    problems: [
      ...fits(config.trainPerTask, FASHION_MNIST.train, 'trainPerTask', 'Fashion-MNIST has'),
      ...fits(config.testPerTask, FASHION_MNIST.test, 'testPerTask', 'Fashion-MNIST has'),
    ],
  };
}

export function splitOutline(config: SplitConfig): OutlineResult {
  const classes = FASHION_MNIST.classes / config.tasks;
  const train = (FASHION_MNIST.train / FASHION_MNIST.classes) * classes;
  const test = (FASHION_MNIST.test / FASHION_MNIST.classes) * classes;
  const taskIL = config.mode === 'task-il';
  const what = `a task of ${classes} class${classes === 1 ? '' : 'es'} has`;
  return {
    outline: {
      name: `split-fashion-mnist-${config.mode}`,
      tasks: config.tasks,
      heads: taskIL ? config.tasks : 1,
      classesPerHead: config.mode === 'class-il' ? FASHION_MNIST.classes : classes,
      inputDims: [FASHION_MNIST.pixels],
      taskNames: Array.from({ length: config.tasks }, (_, t) => `split-${t}`),
      trainPerTask: Math.min(config.trainPerTask ?? train, train),
      testPerTask: Math.min(config.testPerTask ?? test, test),
      datasetBytes: imageBytes,
    },
    problems: [...fits(config.trainPerTask, train, 'trainPerTask', what), ...fits(config.testPerTask, test, 'testPerTask', what)],
  };
}

/** A text source is a file name inside the text folder: no path, nothing hidden. */
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export interface TextOutlineConfig {
  sources: string[];
  context: number;
  testFraction: number;
  heads: 'shared' | 'per-task';
  dir?: string;
}

/**
 * The text benchmark's outline: each source must be a plain file name that exists in the text
 * folder ($RETAIN_TEXT_DIR, else Debian's licence texts) and hold a test window of `context`
 * bytes; only the files' sizes are read.
 */
export function textOutline(config: TextOutlineConfig): OutlineResult {
  const dir = resolve(config.dir ?? process.env.RETAIN_TEXT_DIR ?? DEFAULT_TEXT_DIR);
  const problems: OutlineProblem[] = [];
  const sizes = config.sources.map((source, i) => {
    if (!SOURCE_NAME.test(source) || source.includes('..')) {
      problems.push({
        field: `sources.${i}`,
        problem: `'${source}' is not a file name inside the text folder; use a name such as GPL-3 (letters, digits, '.', '_', '+', '-'; no '/' or '..')`,
      });
      return 0;
    }
    try {
      const stat = statSync(join(dir, source));
      if (stat.isFile()) return stat.size;
      problems.push({ field: `sources.${i}`, problem: `${join(dir, source)} is not a file` });
    } catch {
      problems.push({
        field: `sources.${i}`,
        problem: `no text '${source}' in ${dir}; pick a file there, or set RETAIN_TEXT_DIR to the folder that holds it`,
      });
    }
    return 0;
  });
  sizes.forEach((size, i) => {
    const testBytes = size - Math.floor(size * (1 - config.testFraction));
    if (size > 0 && testBytes <= config.context) {
      problems.push({
        field: 'context',
        problem: `${config.context} bytes of context leave no test window in '${config.sources[i]}' (its test part is ${testBytes} bytes: testFraction ${config.testFraction} of ${size}); use a shorter context`,
      });
    }
  });
  const largest = Math.max(0, ...sizes);
  return {
    outline: {
      name: `text-${config.sources.join('+')}`,
      tasks: config.sources.length,
      heads: config.heads === 'per-task' ? config.sources.length : 1,
      classesPerHead: 256,
      inputDims: [config.context],
      taskNames: [...config.sources],
      trainPerTask: Math.max(0, Math.floor(largest * (1 - config.testFraction)) - config.context),
      testPerTask: Math.max(0, largest - Math.floor(largest * (1 - config.testFraction)) - config.context),
      datasetBytes: sizes.reduce((a, b) => a + b, 0),
    },
    problems,
  };
}
