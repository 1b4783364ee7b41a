import { deriveSeed, Rng, numel } from '@retain/engine';
import { PermutedConfigInput, parseConfig, permutedConfigSchema } from './config';
import { loadFashionMnist } from './fashion-mnist';
import { normalisationTable, PixelSampleSet } from './sample-set';
import { allIndices, checkSeed, checkSubsetFits, chooseSubset, lazyScenario, Scenario } from './scenario';

/** The pixel permutation of permuted task t: permuted[p] = original[permutation[p]]. */
export function taskPermutation(seed: number, taskIndex: number, pixels: number): Int32Array {
  return new Rng(deriveSeed(seed, 'permutation', taskIndex)).permutation(pixels);
}

/**
 * Permuted Fashion-MNIST (domain-incremental): every task has all 10 classes and one shared head;
 * task t shows the images with a fixed, seeded shuffle of their pixels (train and test alike).
 */
export async function permutedScenario(cfg: PermutedConfigInput, seed: number): Promise<Scenario> {
  const config = parseConfig(permutedConfigSchema, cfg, 'permuted');
  checkSeed(seed);
  const data = await loadFashionMnist();
  const pixels = numel(data.inputDims);
  const normalisation = normalisationTable(data.pixelMean, data.pixelStd);
  const name = `permuted-${data.name}`;
  const taskNames = Array.from({ length: config.tasks }, (_, t) => `permuted-${t}`);
  checkSubsetFits(config.trainPerTask, data.train.n, `${name} trainPerTask`);
  checkSubsetFits(config.testPerTask, data.test.n, `${name} testPerTask`);
  const trainLabels = Int32Array.from(data.train.labels);
  const testLabels = Int32Array.from(data.test.labels);

  return lazyScenario(
    { name, tasks: config.tasks, heads: 1, classesPerHead: data.numClasses, inputDims: data.inputDims, taskNames },
    (t) => {
      const permutation = taskPermutation(seed, t, pixels);
      const sampleSet = (which: 'train' | 'test', limit: number | undefined, labels: Int32Array) => {
        const sampleIndices = chooseSubset(
          allIndices(data[which].n),
          limit,
          deriveSeed(seed, 'subset', which, t),
          `${name} task ${t} ${which}`,
        );
        return new PixelSampleSet({
          description: `${name} task ${t} (${taskNames[t]}) ${which}`,
          images: data[which].images,
          inputDims: data.inputDims,
          sampleIndices,
          // Without a subset every task shares the one label array.
          labels: limit === undefined ? labels : Int32Array.from(sampleIndices, (i) => labels[i]),
          normalisation,
          permutation,
        });
      };
      return {
        index: t,
        name: taskNames[t],
        classes: Array.from({ length: data.numClasses }, (_, c) => c),
        train: sampleSet('train', config.trainPerTask, trainLabels),
        test: sampleSet('test', config.testPerTask, testLabels),
      };
    },
  );
}
