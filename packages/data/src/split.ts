import { deriveSeed, Rng } from '@retain/engine';
import { parseConfig, splitConfigSchema, SplitConfigInput } from './config';
import { loadFashionMnist } from './fashion-mnist';
import { normalisationTable, PixelSampleSet } from './sample-set';
import { checkSeed, checkSubsetFits, chooseSubset, lazyScenario, Scenario } from './scenario';

/** Classes of each split task: consecutive pairs of 0..9, or of a seeded shuffle of them; sorted within a task. */
export function splitClasses(tasks: number, shuffle: boolean, seed: number, numClasses = 10): number[][] {
  const order = shuffle ? Array.from(new Rng(deriveSeed(seed, 'class-order')).permutation(numClasses)) : [...Array(numClasses).keys()];
  const perTask = numClasses / tasks;
  return Array.from({ length: tasks }, (_, t) => order.slice(t * perTask, (t + 1) * perTask).sort((a, b) => a - b));
}

/**
 * Split Fashion-MNIST: task t holds a disjoint subset of the classes.
 * task-IL: a head per task and labels remapped to 0..k-1 (the task id picks the head at test time);
 * domain-IL: the same task-local labels 0..k-1 on one shared head (the task id is never given);
 * class-IL: one head over all 10 classes with the global labels.
 */
export async function splitScenario(cfg: SplitConfigInput, seed: number): Promise<Scenario> {
  const config = parseConfig(splitConfigSchema, cfg, 'split');
  checkSeed(seed);
  const data = await loadFashionMnist();
  const normalisation = normalisationTable(data.pixelMean, data.pixelStd);
  const taskIL = config.mode === 'task-il';
  const localLabels = config.mode !== 'class-il';
  const name = `split-${data.name}-${config.mode}`;
  const classesByTask = splitClasses(config.tasks, config.shuffleClasses, seed, data.numClasses);
  const taskNames = classesByTask.map((_, t) => `split-${t}`);
  for (const which of ['train', 'test'] as const) {
    const perClass = new Array<number>(data.numClasses).fill(0);
    for (const label of data[which].labels) perClass[label]++;
    const limit = which === 'train' ? config.trainPerTask : config.testPerTask;
    classesByTask.forEach((classes, t) =>
      checkSubsetFits(
        limit,
        classes.reduce((n, c) => n + perClass[c], 0),
        `${name} task ${t} (classes ${classes.join(',')}) ${which}PerTask`,
      ),
    );
  }

  return lazyScenario(
    {
      name,
      tasks: config.tasks,
      heads: taskIL ? config.tasks : 1,
      classesPerHead: localLabels ? data.numClasses / config.tasks : data.numClasses,
      inputDims: data.inputDims,
      taskNames,
    },
    (t) => {
      const classes = classesByTask[t];
      // global class -> label the model sees (-1: not in this task)
      const labelOf = new Int32Array(data.numClasses).fill(-1);
      classes.forEach((c, k) => (labelOf[c] = localLabels ? k : c));

      const sampleSet = (which: 'train' | 'test', limit: number | undefined) => {
        const all = data[which].labels;
        const inTask = indicesWhere(all, (label) => labelOf[label] >= 0);
        const sampleIndices = chooseSubset(
          inTask,
          limit,
          deriveSeed(seed, 'subset', which, t),
          `${name} task ${t} (classes ${classes.join(',')}) ${which}`,
        );
        return new PixelSampleSet({
          description: `${name} task ${t} (${taskNames[t]}, classes ${classes.join(',')}) ${which}`,
          images: data[which].images,
          inputDims: data.inputDims,
          sampleIndices,
          labels: Int32Array.from(sampleIndices, (i) => labelOf[all[i]]),
          normalisation,
          permutation: null,
        });
      };
      return {
        index: t,
        name: taskNames[t],
        classes,
        train: sampleSet('train', config.trainPerTask),
        test: sampleSet('test', config.testPerTask),
      };
    },
  );
}

function indicesWhere(values: Uint8Array, keep: (value: number) => boolean): Int32Array {
  const kept: number[] = [];
  values.forEach((v, i) => {
    if (keep(v)) kept.push(i);
  });
  return Int32Array.from(kept);
}
