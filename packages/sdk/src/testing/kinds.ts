import {
  buildInferenceModel,
  buildStepGraph,
  InferenceSession,
  initOptimizerState,
  initParams,
  paramSpec,
  TrainSession,
  type Model,
  type TensorMap,
  numel,
} from '@retain/engine';
import { gatherLabels, scenarioInfo, targetsOf, type ScenarioInfo } from '@retain/data';
import type { BenchmarkPlugin, EvaluatorPlugin, ModelPlugin, TrainCheckpoint, TrainerPlugin, TrainOutcome } from '../plugin';
import { configChecks, parsedConfig } from './config';
import { fixtureModel, syntheticScenario, type FixtureOptions } from './fixture';
import { Checks, firstDifference, type ConformanceReport } from './report';

interface CommonOptions {
  /** Config the checks run the plugin with (default `{}`); also checked like the defaults. */
  config?: unknown;
  /** More configs that must parse (and round-trip) like the defaults. */
  valid?: unknown[];
  seed?: number;
}

const configs = (o: CommonOptions) => [...(o.config !== undefined ? [o.config] : []), ...(o.valid ?? [])];

/**
 * A benchmark's conformance: config checks; the scenario is a pure function of (config, seed):
 * two builds give the same tasks, classes and samples; every task has training and test samples
 * of the scenario's input dims, and labels within its heads' classes.
 */
export async function checkBenchmark<C>(
  plugin: BenchmarkPlugin<C>,
  options: CommonOptions & { samples?: number } = {},
): Promise<ConformanceReport> {
  const checks = new Checks(`benchmark ${plugin.name}`);
  await configChecks(checks, plugin, configs(options));
  if (checks.failures.length) return checks.done();
  const config = parsedConfig(plugin, options.config);
  const seed = options.seed ?? 1;
  const k = options.samples ?? 8;
  const look = async () => {
    const s = await plugin.scenario(config, seed);
    const tasks = Array.from({ length: s.tasks }, (_, t) => {
      const task = s.task(t);
      const first = (set: typeof task.train) => {
        const idx = Array.from({ length: Math.min(k, set.n) }, (_, i) => i);
        return { n: set.n, inputDims: set.inputDims, x: set.gather(idx), labels: gatherLabels(set, idx) };
      };
      return { index: task.index, name: task.name, classes: task.classes, train: first(task.train), test: first(task.test), all: task };
    });
    return { info: scenarioInfo(s), tasks };
  };
  const a = await look();
  await checks.run('determinism: same config and seed, same scenario', async () => {
    const b = await look();
    return firstDifference(
      { info: b.info, tasks: b.tasks.map(({ all: _all, ...t }) => t) },
      { info: a.info, tasks: a.tasks.map(({ all: _all, ...t }) => t) },
    );
  });
  await checks.run('tasks match the scenario: names, input dims, samples, labels within the classes per head', () => {
    if (a.info.tasks !== a.tasks.length || a.info.taskNames.length !== a.info.tasks)
      return `${a.info.tasks} tasks but ${a.info.taskNames.length} names`;
    if (a.info.heads !== 1 && a.info.heads !== a.info.tasks) return `heads is ${a.info.heads}: must be 1 or the number of tasks`;
    for (const t of a.tasks) {
      if (t.index !== a.tasks.indexOf(t) || t.name !== a.info.taskNames[t.index]) return `task ${t.index} is named '${t.name}'`;
      for (const [which, set] of [
        ['train', t.all.train],
        ['test', t.all.test],
      ] as const) {
        if (set.n < 1) return `task ${t.index} ${which} has no samples`;
        if (set.inputDims.join() !== a.info.inputDims.join()) return `task ${t.index} ${which} inputs are [${set.inputDims}]`;
        if (targetsOf(set) !== targetsOf(a.info))
          return `task ${t.index} ${which} has ${targetsOf(set)} labels per sample, the scenario says ${targetsOf(a.info)}`;
        if (set.labels.length !== set.n * targetsOf(set))
          return `task ${t.index} ${which} has ${set.labels.length} labels for ${set.n} samples of ${targetsOf(set)}`;
        const bad = set.labels.findIndex((l) => !(l >= 0 && l < a.info.classesPerHead));
        if (bad >= 0) return `task ${t.index} ${which} label ${set.labels[bad]} at ${bad} is outside 0..${a.info.classesPerHead - 1}`;
      }
    }
    return undefined;
  });
  return checks.done();
}

/**
 * A model's conformance: config checks; building twice gives the same params (and initParams is
 * a function of the seed); every head's forward exports to ONNX, loads in onnxruntime and gives
 * finite logits [batch * targetsPerExample, classesPerHead], the same for the same inputs; one training step graph
 * builds and runs with a finite loss.
 */
export async function checkModel<C>(
  plugin: ModelPlugin<C>,
  options: CommonOptions & { scenario?: FixtureOptions } = {},
): Promise<ConformanceReport> {
  const checks = new Checks(`model ${plugin.name}`);
  await configChecks(checks, plugin, configs(options));
  if (checks.failures.length) return checks.done();
  const config = parsedConfig(plugin, options.config);
  const seed = options.seed ?? 2;
  const scenario = syntheticScenario(options.scenario);
  const info = scenarioInfo(scenario);
  let model: Model | undefined;
  await checks.run('builds for the scenario', () => {
    model = plugin.build(config, info);
    return model.heads === info.heads ? undefined : `${model.heads} heads for a scenario of ${info.heads}`;
  });
  if (!model) return checks.done();
  const m = model;
  await checks.run('determinism: same config, same model; same seed, same params', () =>
    firstDifference(
      { params: plugin.build(config, info).params, init: initParams(plugin.build(config, info), seed) },
      { params: m.params, init: initParams(m, seed) },
    ),
  );
  const batch = 4;
  const x = scenario.task(0).test.gather([0, 1, 2, 3]);
  await checks.run("every head's forward exports, loads and gives finite logits, the same twice", async () => {
    const params = initParams(m, seed);
    for (let h = 0; h < m.heads; h++) {
      const session = await InferenceSession.create(buildInferenceModel(m, h, params));
      try {
        const a = (await session.run(x, batch)).logits;
        const b = (await session.run(x, batch)).logits;
        const rows = batch * (m.targetsPerExample ?? 1);
        if (a.length !== rows * info.classesPerHead) return `head ${h}: ${a.length} logits for ${rows} rows x ${info.classesPerHead}`;
        if (!a.every(Number.isFinite)) return `head ${h}: logits are not finite`;
        const d = firstDifference(b, a, `head ${h} logits`);
        if (d) return d;
      } finally {
        await session.close();
      }
    }
    return undefined;
  });
  await checks.run('a training step builds and runs with a finite loss', async () => {
    const graph = buildStepGraph({ model: m, head: 0, optimizer: { name: 'sgd' } });
    const initial: TensorMap = {
      ...initParams(m, seed),
      ...initOptimizerState(
        { name: 'sgd' },
        graph.trainable.map((n) => paramSpec(m, n)),
      ),
    };
    const session = await TrainSession.create(graph, initial);
    try {
      const loss = await session.step(x, gatherLabels(scenario.task(0).test, [0, 1, 2, 3]), batch, 0.01);
      return Number.isFinite(loss) ? undefined : `loss ${loss}`;
    } finally {
      await session.close();
    }
  });
  return checks.done();
}

/**
 * An evaluator's conformance: config checks; its results are finite named numbers, the same for
 * the same predictions (evaluated twice on one synthetic task through a fixed linear model).
 */
export async function checkEvaluator<C>(plugin: EvaluatorPlugin<C>, options: CommonOptions = {}): Promise<ConformanceReport> {
  const checks = new Checks(`evaluator ${plugin.name}`);
  await configChecks(checks, plugin, configs(options));
  if (checks.failures.length) return checks.done();
  const config = parsedConfig(plugin, options.config);
  const scenario = syntheticScenario({ testPerTask: 40 });
  const task = scenario.task(0);
  const features = numel(scenario.inputDims);
  // A fixed linear model that gets some samples right: logit c = x[c] - x[(c + 1) % classes].
  const predict = async (x: Float32Array, batch: number) => {
    if (x.length !== batch * features) throw new Error(`predict: ${x.length} inputs for a batch of ${batch}`);
    const k = scenario.classesPerHead;
    return Float32Array.from({ length: batch * k }, (_, i) => {
      const [b, c] = [Math.floor(i / k), i % k];
      return x[b * features + c] - x[b * features + ((c + 1) % k)];
    });
  };
  let first: Record<string, number> | undefined;
  await checks.run('gives finite named numbers', async () => {
    first = await plugin.evaluate({ config, task, predict });
    const entries = Object.entries(first);
    if (!entries.length) return 'no results';
    const bad = entries.find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
    return bad ? `${bad[0]} is ${bad[1]}` : undefined;
  });
  if (first)
    await checks.run('determinism: same predictions, same results', async () =>
      firstDifference(await plugin.evaluate({ config, task, predict }), first),
    );
  return checks.done();
}

/**
 * A trainer's conformance: config checks; two runs of one synthetic task with the same seed end
 * bit for bit alike; a run resumed from each checkpoint the trainer saved ends bit for bit as the
 * uninterrupted one (give a config that checkpoints, e.g. every few steps).
 */
export async function checkTrainer<C>(
  plugin: TrainerPlugin<C>,
  options: CommonOptions & { scenario?: FixtureOptions; model?: (scenario: ScenarioInfo) => Model } = {},
): Promise<ConformanceReport> {
  const checks = new Checks(`trainer ${plugin.name}`);
  await configChecks(checks, plugin, configs(options));
  if (checks.failures.length) return checks.done();
  const config = parsedConfig(plugin, options.config);
  const seed = options.seed ?? 4;
  const scenario = syntheticScenario(options.scenario);
  const model = (options.model ?? fixtureModel)(scenario);
  const params = initParams(model, seed);
  const train = (resume?: TrainCheckpoint, saved?: TrainCheckpoint[]) =>
    plugin.train({
      config,
      seed,
      taskIndex: 0,
      task: scenario.task(0),
      model,
      head: 0,
      params,
      method: {},
      progress: () => undefined,
      signal: new AbortController().signal,
      resume,
      checkpoint: saved ? async (c) => void saved.push(c) : undefined,
    });
  const comparable = (o: TrainOutcome) => ({
    params: o.params,
    steps: o.steps,
    samples: o.samples,
    finalLoss: o.finalLoss,
    methodState: o.methodState,
  });
  const saved: TrainCheckpoint[] = [];
  let first: TrainOutcome | undefined;
  await checks.run('trains a task', async () => {
    first = await train(undefined, saved);
    return first.steps > 0 && Number.isFinite(first.finalLoss) ? undefined : `${first.steps} steps, final loss ${first.finalLoss}`;
  });
  if (!first) return checks.done();
  const done = comparable(first);
  await checks.run('determinism: same seed, same parameters and loss', async () => firstDifference(comparable(await train()), done));
  const midway = saved.filter((c) => c.step > 0 && c.step < done.steps);
  if (!midway.length) checks.skip('checkpoint-resume', 'the trainer saved no mid-task checkpoint with this config');
  for (const c of midway) {
    await checks.run(`checkpoint-resume: resumed at step ${c.step} ends as the uninterrupted run`, async () =>
      firstDifference(comparable(await train(c)), done),
    );
  }
  return checks.done();
}
