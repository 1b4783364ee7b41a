import type { StepGraph } from '../step';
import { assertTensorData, isBigInt64Array, isFloat32Array, type TensorMap, numel } from '../tensor';
import { GraphSession, type RunTraffic, type SessionOptions, type Value } from './graph-session';

const BATCH_INPUTS = ['x', 'y', 'lr'];

/**
 * Runs step graphs (see buildStepGraph) in their own thread. Parameters and optimizer state stay
 * in that thread between steps (each step's 'new.<name>' outputs replace the inputs), so a step
 * moves only the batch in and the loss out; `read()` copies them out, e.g. for a checkpoint.
 * A session may hold graphs of several step counts for the same training (a one-step graph and
 * a K-step graph): they share the values, so a trainer runs K steps at a time and single steps
 * where K batches do not fit (an epoch's short last batch, a checkpoint boundary). A Scan graph
 * (stepsPerRun 'any') serves every count alone, one step included.
 */
export class TrainSession {
  private constructor(
    private readonly session: GraphSession,
    private readonly byStepsPerRun: Map<number | 'any', { graph: StepGraph; name: string | undefined }>,
  ) {}

  /** The first graph the session was created with. */
  get graph(): StepGraph {
    return [...this.byStepsPerRun.values()][0].graph;
  }

  /** The step counts per run of this session's graphs: numbers ascending, then 'any' (a Scan graph). */
  get stepsPerRun(): (number | 'any')[] {
    const counts = [...this.byStepsPerRun.keys()];
    const fixed = counts.filter((k): k is number => k !== 'any').sort((a, b) => a - b);
    return counts.includes('any') ? [...fixed, 'any'] : fixed;
  }

  /** The graph that runs `K` steps: the K-step one, else a Scan graph. */
  private graphFor(K: number) {
    return this.byStepsPerRun.get(K) ?? this.byStepsPerRun.get('any');
  }

  /**
   * `initial` holds every param and state the graphs take (and the method's constants and state).
   * Several graphs must be built from the same spec with different `stepsPerRun`.
   */
  static async create(steps: StepGraph | StepGraph[], initial: TensorMap, opts: SessionOptions = {}): Promise<TrainSession> {
    const graphs = Array.isArray(steps) ? steps : [steps];
    if (graphs.length === 0) throw new Error('TrainSession.create: give at least one step graph');
    const [step, ...more] = graphs;
    const byStepsPerRun = new Map<number | 'any', { graph: StepGraph; name: string | undefined }>([
      [step.stepsPerRun, { graph: step, name: undefined }],
    ]);
    for (const other of more) {
      if (byStepsPerRun.has(other.stepsPerRun))
        throw new Error(`TrainSession.create: two graphs run ${other.stepsPerRun} steps per run; give one per step count`);
      const differs = (['paramNames', 'stateNames', 'trainable', 'methodInputs', 'batchInputs', 'bufferNames'] as const).find(
        (k) => other[k].join('\n') !== step[k].join('\n'),
      );
      if (differs || other.inputDims.join() !== step.inputDims.join())
        throw new Error(
          `TrainSession.create: the ${other.stepsPerRun}-step graph differs from the ${step.stepsPerRun}-step one in ${differs ?? 'inputDims'}; build both from the same spec`,
        );
      byStepsPerRun.set(other.stepsPerRun, { graph: other, name: `steps-${other.stepsPerRun}` });
    }
    const missing = [...step.paramNames, ...step.stateNames, ...step.methodInputs].filter((n) => !initial[n]);
    if (missing.length)
      throw new Error(`TrainSession.create: initial values are missing for ${missing.join(', ')}; pass params and initOptimizerState(...)`);
    const session = await GraphSession.create(step.bytes, toValues(initial), opts);
    try {
      const perStep = [...BATCH_INPUTS, ...step.batchInputs];
      const inputs = [session.inputs];
      for (const { graph, name } of byStepsPerRun.values()) if (name) inputs.push((await session.load(name, graph.bytes)).inputs);
      const unfed = [...new Set(inputs.flat().map((i) => i.name))].filter((n) => !perStep.includes(n) && !initial[n]);
      if (unfed.length)
        throw new Error(`TrainSession.create: the step graph also takes ${unfed.join(', ')}; add them to the initial values`);
    } catch (e) {
      await session.close();
      throw e;
    }
    return new TrainSession(session, byStepsPerRun);
  }

  /**
   * One optimizer step on a batch; returns the loss before the update. `feeds` holds the step
   * graph's other per-step inputs (its `batchInputs`, e.g. a method's memory batch). Needs a
   * one-step graph.
   */
  async step(
    x: Float32Array,
    y: BigInt64Array | Int32Array,
    batch: number,
    lr: number,
    feeds: Record<string, Value> = {},
  ): Promise<number> {
    if (!this.graphFor(1))
      throw new Error(
        `TrainSession.step: this session runs ${this.stepsPerRun.join(' or ')} steps per run; call steps() with that many batches`,
      );
    // A Scan graph takes stacks: this step's feeds become stacks of one.
    const stacked = this.graphFor(1)!.graph.stepsPerRun === 1 ? feeds : stackOfOne(feeds);
    return (await this.runSteps('step', x, y, batch, [lr], stacked))[0];
  }

  /**
   * K steps in one run, K = `lrs.length`, on the session's K-step graph (buildStepGraph
   * stepsPerRun = K) or its Scan graph (stepsPerRun 'any'): `x` holds K batches of `batch` examples one after another, `y` their
   * labels, `lrs` one rate per step, `feeds` the method's batch inputs stacked the same way
   * ([K, ...], see `stackValues`). Returns the K losses, each before its step's update.
   */
  async steps(
    x: Float32Array,
    y: BigInt64Array | Int32Array,
    batch: number,
    lrs: number[],
    feeds: Record<string, Value> = {},
  ): Promise<Float32Array> {
    if (!this.graphFor(lrs.length))
      throw new Error(
        `TrainSession.steps: this session runs ${this.stepsPerRun.join(' or ')} steps per run, got ${lrs.length} learning rates`,
      );
    return this.runSteps('steps', x, y, batch, lrs, feeds);
  }

  private async runSteps(
    caller: string,
    x: Float32Array,
    y: BigInt64Array | Int32Array,
    batch: number,
    lrs: number[],
    feeds: Record<string, Value>,
  ): Promise<Float32Array> {
    const K = lrs.length;
    const { graph, name } = this.graphFor(K)!;
    const features = numel(graph.inputDims);
    // Only a one-step graph takes a bare batch; K-step and Scan graphs take stacks, of one too.
    const stack = graph.stepsPerRun === 1 ? [] : [K];
    const what = K > 1 ? `${K} batches of ${batch}` : `batch ${batch}`;
    if (x.length !== K * batch * features)
      throw new Error(
        `TrainSession.${caller}: x has ${x.length} values, ${what} x [${graph.inputDims.join(', ')}] needs ${K * batch * features}`,
      );
    // A model that predicts T rows per example (a causal LM) takes T labels per example.
    const targets = graph.targetsPerExample ?? 1;
    if (y.length !== K * batch * targets)
      throw new Error(`TrainSession.${caller}: y has ${y.length} labels for ${what}${targets > 1 ? ` of ${targets} labels each` : ''}`);
    const out = await this.session.run(
      {
        x: { dtype: 'float32', dims: [...stack, batch, ...graph.inputDims], data: compact(x) },
        y: {
          dtype: 'int64',
          dims: [...stack, batch * targets],
          data: isBigInt64Array(y) ? compact(y) : BigInt64Array.from(y, (v) => BigInt(v)),
        },
        lr: { dtype: 'float32', dims: stack, data: Float32Array.from(lrs) },
        ...feeds,
      },
      { fetch: ['loss'], feedback: true, graph: name },
    );
    return out.loss.data as Float32Array;
  }

  /** Copies of the current params and optimizer state (and other float32 values held). */
  async read(): Promise<TensorMap> {
    return toTensorMap(await this.session.read());
  }

  /** Bytes the steps so far fed onnxruntime and took back (params and state in, updates out, per run). */
  traffic(): Promise<RunTraffic> {
    return this.session.traffic();
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

export function toValues(tensors: TensorMap): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [name, t] of Object.entries(tensors)) {
    assertTensorData(name, t);
    out[name] = { dtype: 'float32', dims: [...t.dims], data: t.data };
  }
  return out;
}

export function toTensorMap(values: Record<string, Value>): TensorMap {
  const out: TensorMap = {};
  for (const [name, v] of Object.entries(values)) if (isFloat32Array(v.data)) out[name] = { dims: v.dims, data: v.data };
  return out;
}

/**
 * One value of a K-step graph's batch input from the K per-step values ([K, ...dims]); they must
 * agree in dtype and dims.
 */
export function stackValues(name: string, values: Value[]): Value {
  const [first] = values;
  if (!first) throw new Error(`stackValues: no values for '${name}'`);
  const same = values.every((v) => v.dtype === first.dtype && v.dims.join() === first.dims.join());
  if (!same) throw new Error(`stackValues: the per-step values of '${name}' differ in dtype or dims; they cannot share one K-step run`);
  const n = first.data.length;
  const Ctor = first.data.constructor as new (n: number) => Value['data'];
  const data = new Ctor(n * values.length);
  values.forEach((v, k) => (data as Float32Array).set(v.data as Float32Array, k * n));
  return { dtype: first.dtype, dims: [values.length, ...first.dims], data };
}

function stackOfOne(feeds: Record<string, Value>): Record<string, Value> {
  return Object.fromEntries(Object.entries(feeds).map(([name, v]) => [name, { ...v, dims: [1, ...v.dims] }]));
}

/** A view into a larger buffer would be cloned whole when posted to the thread; copy just the view. */
function compact<T extends Float32Array | BigInt64Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}
