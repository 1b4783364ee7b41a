import {
  buildStepGraph,
  initOptimizerState,
  initParams,
  paramSpec,
  Rng,
  TrainSession,
  type Model,
  type OptimizerConfig,
  type StepMethod,
  type TensorMap,
  type Value,
  numel,
} from '@retain/engine';
import { batchOrder, gatherLabels, type Scenario, type ScenarioInfo } from '@retain/data';
import { startAdapter, type Batch, type MethodPlugin, type MethodTraining } from '../plugin';
import { configChecks, parsedConfig } from './config';
import { fixtureModel, headOf, syntheticScenario, type FixtureOptions } from './fixture';
import { Checks, firstDifference, type ConformanceReport } from './report';

export interface MethodCheckOptions {
  /** Config the checks run the method with (default `{}`); also checked like the defaults. */
  config?: unknown;
  /** More configs that must parse (and round-trip) like the defaults. */
  valid?: unknown[];
  seed?: number;
  /** The synthetic scenario's shape (default: 2 tasks, a head each, 6 inputs, 3 classes). */
  scenario?: FixtureOptions;
  /** The model the method trains (default: a small MLP); a method that needs its own model (pnn) gives it. */
  model?: (scenario: ScenarioInfo) => Model;
  /** Training steps per task (default 6) and examples per batch (default 8). */
  steps?: number;
  batchSize?: number;
  /** Param coordinates the gradient check compares per task: half where the terms' gradient is largest, half at random (default 4). */
  coordinates?: number;
}

/** The trainer the checks use: plain, so that nothing but the method shapes the result. */
const OPTIMIZER: OptimizerConfig = { name: 'sgd', momentum: 0.9 };
const LR = 0.05;

interface TaskTrace {
  training: Omit<MethodTraining, 'batches' | 'step'>;
  losses: number[];
  params: TensorMap;
  methodState?: TensorMap;
  state?: TensorMap;
}

/**
 * A continual-learning method's conformance (the contracts of docs/architecture.md §4), on synthetic tasks and the
 * real step graph and onnxruntime:
 * - config: defaults, strictness, round trips (configChecks);
 * - the hooks' values fit the step graph: every constant and state tensor is given with its dims;
 * - gradient: the gradient the step graph takes of the loss terms the method adds equals central
 *   finite differences of those terms (read off the graph's loss), at params moved off the anchor;
 * - determinism: two runs of the same tasks with the same seed agree bit for bit (losses, params,
 *   method state, what afterTask returns);
 * - checkpoint-resume: stopping mid-task, restarting a session from what it held, and going on
 *   (as the trainer resumes a retried task) gives bit for bit the uninterrupted run;
 * - afterTask's state is float32 tensors whose dims match their data, as the worker stores them.
 */
export async function checkMethod<C>(plugin: MethodPlugin<C>, options: MethodCheckOptions = {}): Promise<ConformanceReport> {
  const checks = new Checks(`method ${plugin.name}`);
  await configChecks(checks, plugin, [...(options.config !== undefined ? [options.config] : []), ...(options.valid ?? [])]);
  if (checks.failures.length) return checks.done();
  const config = parsedConfig(plugin, options.config);
  const seed = options.seed ?? 7;
  const scenario = syntheticScenario(options.scenario);
  // The run's model: through the method's transformModel (LoRA's kept adapters), as a run builds it.
  const built = (options.model ?? fixtureModel)(scenario);
  const model = plugin.transformModel ? plugin.transformModel(config, built, scenario) : built;
  const run = (resumeAt?: number, gradient?: GradientCheck) =>
    runTasks(plugin, config, seed, scenario, model, { steps: options.steps ?? 6, batchSize: options.batchSize ?? 8, resumeAt, gradient });

  let first: TaskTrace[] | undefined;
  const gradient: GradientCheck = { coordinates: options.coordinates ?? 4, results: [] };
  await checks.run('hooks run on every task and their tensors fit the step graph', async () => {
    first = await run(undefined, gradient);
    return undefined;
  });
  if (!first) return checks.done();
  if (gradient.results.length === 0) checks.skip('gradient of the loss terms', 'the method adds no loss term on any task');
  for (const r of gradient.results) {
    if (r.problem) checks.fail(`gradient of the loss terms (task ${r.task})`, r.problem);
    else checks.passed.push(`gradient of the loss terms (task ${r.task})`);
  }
  await checks.run('determinism: same seed, same run', async () => firstDifference(await run(), first));
  await checks.run('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one', async () =>
    firstDifference(await run(Math.floor((options.steps ?? 6) / 2)), first),
  );
  await checks.run("afterTask's state is float32 tensors of their dims", () => {
    for (const [t, trace] of first!.entries()) {
      for (const [name, tensor] of Object.entries(trace.state ?? {})) {
        const size = numel(tensor.dims);
        // By tag, not instanceof: onnxruntime's arrays may come from another realm (jest's).
        const type = Object.prototype.toString.call(tensor.data);
        if (type !== '[object Float32Array]') return `task ${t}: '${name}' is a ${type}, not a Float32Array`;
        if (tensor.data.length !== size)
          return `task ${t}: '${name}' has ${tensor.data.length} values for dims [${tensor.dims.join(', ')}]`;
      }
    }
    return undefined;
  });
  return checks.done();
}

interface GradientCheck {
  coordinates: number;
  results: Array<{ task: number; problem?: string }>;
}

async function runTasks<C>(
  plugin: MethodPlugin<C>,
  config: C,
  seed: number,
  scenario: Scenario,
  model: Model,
  opts: { steps: number; batchSize: number; resumeAt?: number; gradient?: GradientCheck },
): Promise<TaskTrace[]> {
  let params = initParams(model, seed);
  let state: TensorMap | undefined;
  const traces: TaskTrace[] = [];
  for (let t = 0; t < scenario.tasks; t++) {
    const head = headOf(scenario, t);
    const ctx = { config, seed, taskIndex: t, task: scenario.task(t), model, head, taskData: (i: number) => scenario.task(i), state };
    const training: MethodTraining = (await plugin.training?.(ctx)) ?? {};
    const batches = taskBatches(scenario, t, seed, opts.steps, opts.batchSize, training);
    // An adapter (LoRA) trains its model from its start params, and folds the result back, as trainTask does.
    const { model: trainedModel, params: start } = training.adapter ? await startAdapter(training.adapter, params) : { model, params };
    if (opts.gradient && training.step?.lossTerm) {
      opts.gradient.results.push({
        task: t,
        problem: await gradientProblem(trainedModel, head, start, training, batches[0], seed + t, opts.gradient.coordinates),
      });
    }
    const trained = await train(trainedModel, head, start, training, batches, opts.resumeAt);
    if (training.adapter) trained.params = training.adapter.finish(trained.params);
    const next = await plugin.afterTask?.({ ...ctx, params: trained.params, trained: trained.methodState });
    state = next ?? state;
    params = trained.params;
    const { batches: _source, step: _step, adapter: _adapter, ...plain } = training;
    traces.push({ training: plain, losses: trained.losses, params, methodState: trained.methodState, state: next });
  }
  return traces;
}

interface StepBatch {
  batch: Batch;
  feeds?: Record<string, Value>;
}

/** The batches of a task's steps: the trainer's draw (seeded order, over the method's `trainingSet` if it has one), then the method's source. */
function taskBatches(scenario: Scenario, t: number, seed: number, steps: number, batchSize: number, training: MethodTraining): StepBatch[] {
  // A method may widen the set the trainer's epochs run over (joint's union), as the trainer does.
  const train = training.trainingSet ?? scenario.task(t).train;
  const size = Math.min(batchSize, train.n);
  const out: StepBatch[] = [];
  for (let s = 0; s < steps; s++) {
    const perEpoch = Math.floor(train.n / size);
    const order = batchOrder(train.n, seed, t, Math.floor(s / perEpoch));
    const indices = order.subarray((s % perEpoch) * size, ((s % perEpoch) + 1) * size);
    const current: Batch = { x: train.gather(indices), y: gatherLabels(train, indices), size, indices };
    out.push(training.batches ? training.batches(s, current) : { batch: current });
  }
  return out;
}

async function train(
  model: Model,
  head: number,
  params: TensorMap,
  training: MethodTraining,
  batches: StepBatch[],
  resumeAt: number | undefined,
): Promise<{ params: TensorMap; losses: number[]; methodState?: TensorMap }> {
  const graph = buildStepGraph({ model, head, optimizer: OPTIMIZER, trainable: training.trainable, method: training.step });
  const fresh: TensorMap = {
    ...params,
    ...initOptimizerState(
      OPTIMIZER,
      graph.trainable.map((n) => paramSpec(model, n)),
    ),
    ...(training.tensors ?? {}),
  };
  const lr = LR * (training.lrScale ?? 1);
  const losses: number[] = [];
  let session = await TrainSession.create(graph, fresh);
  try {
    for (const [s, { batch, feeds }] of batches.entries()) {
      if (s === resumeAt) {
        // What a trainer's checkpoint holds, then a new session from it, as a retried task starts.
        const held = await session.read();
        await session.close();
        session = await TrainSession.create(graph, { ...fresh, ...held });
      }
      losses.push(await session.step(batch.x, batch.y, batch.size, lr, feeds));
    }
    const held = await session.read();
    const after = { ...params };
    for (const n of graph.trainable) after[n] = held[n];
    for (const b of graph.bufferNames) if (held[b]) after[b] = held[b];
    const methodState = graph.methodState.length ? Object.fromEntries(graph.methodState.map((n) => [n, held[n]])) : undefined;
    return { params: after, losses, methodState };
  } finally {
    await session.close();
  }
}

/**
 * Compares the step graph's gradient of the method's loss terms with central finite differences.
 * The terms' value is the graph's loss with the method minus its loss without; their gradient is
 * the same difference of the updates of one plain SGD step with lr 1. Params are moved off where
 * training left them first, so a penalty anchored there has a gradient to check.
 */
async function gradientProblem(
  model: Model,
  head: number,
  params: TensorMap,
  training: MethodTraining,
  { batch, feeds }: StepBatch,
  seed: number,
  coordinates: number,
): Promise<string | undefined> {
  const rng = new Rng(seed);
  // Only the loss terms: a gradient transform (A-GEM) is not a derivative of anything.
  const terms: StepMethod = { ...training.step, gradientTransform: undefined };
  const sgd: OptimizerConfig = { name: 'sgd' };
  const withTerms = buildStepGraph({ model, head, optimizer: sgd, trainable: training.trainable, method: terms });
  const without = buildStepGraph({
    model,
    head,
    optimizer: sgd,
    trainable: training.trainable,
    method: { batchInputs: terms.batchInputs },
  });
  const at: TensorMap = { ...params };
  for (const n of withTerms.trainable) {
    at[n] = { dims: [...params[n].dims], data: Float32Array.from(params[n].data, (v) => v + 0.1 * (rng.float() - 0.5)) };
  }
  const once = async (graph: typeof withTerms, point: TensorMap) => {
    const session = await TrainSession.create(graph, { ...point, ...(graph === withTerms ? (training.tensors ?? {}) : {}) });
    try {
      const loss = await session.step(batch.x, batch.y, batch.size, 1, feeds);
      return { loss, after: await session.read() };
    } finally {
      await session.close();
    }
  };
  const termValue = async (point: TensorMap) => (await once(withTerms, point)).loss - (await once(without, point)).loss;
  const a = await once(withTerms, at);
  const b = await once(without, at);
  const h = 1e-2;
  // Where the graph says the terms matter most, and elsewhere at random: a few of each.
  const all = withTerms.trainable.flatMap((n) =>
    Array.from(at[n].data, (v, i) => ({ n, i, graph: v - a.after[n].data[i] - (v - b.after[n].data[i]) })),
  );
  const largest = [...all].sort((p, q) => Math.abs(q.graph) - Math.abs(p.graph)).slice(0, Math.ceil(coordinates / 2));
  const random = Array.from({ length: Math.floor(coordinates / 2) }, () => all[Math.floor(rng.float() * all.length)]);
  let checked = 0;
  for (const { n, i, graph } of [...largest, ...random]) {
    const shifted = (d: number) => ({
      ...at,
      [n]: { dims: at[n].dims, data: Float32Array.from(at[n].data, (v, j) => (j === i ? v + d : v)) },
    });
    const numeric = ((await termValue(shifted(h))) - (await termValue(shifted(-h)))) / (2 * h);
    checked = Math.max(checked, Math.abs(numeric));
    if (!(Math.abs(graph - numeric) <= 2e-3 + 5e-2 * Math.abs(numeric)))
      return `${n}[${i}]: the step graph's gradient is ${graph}, finite differences give ${numeric}`;
  }
  return checked > 1e-6 ? undefined : 'the loss terms have no gradient at any sampled coordinate: nothing was checked';
}
