import type { StepGraph } from '../step';
import { assertTensorData, isBigInt64Array, isFloat32Array, type TensorMap } from '../tensor';
import { GraphSession, type SessionOptions, type Value } from './graph-session';

const BATCH_INPUTS = ['x', 'y', 'lr'];

/**
 * Runs a step graph (see buildStepGraph) in its own thread. Parameters and optimizer state stay
 * in that thread between steps (each step's 'new.<name>' outputs replace the inputs), so a step
 * moves only the batch in and the loss out; `read()` copies them out, e.g. for a checkpoint.
 */
export class TrainSession {
  private constructor(
    private readonly session: GraphSession,
    readonly graph: StepGraph,
  ) {}

  /** `initial` holds every param and state the graph takes (and any input an extraLoss added). */
  static async create(step: StepGraph, initial: TensorMap, opts: SessionOptions = {}): Promise<TrainSession> {
    const missing = [...step.paramNames, ...step.stateNames, ...step.methodInputs].filter((n) => !initial[n]);
    if (missing.length)
      throw new Error(`TrainSession.create: initial values are missing for ${missing.join(', ')}; pass params and initOptimizerState(...)`);
    const session = await GraphSession.create(step.bytes, toValues(initial), opts);
    const perStep = [...BATCH_INPUTS, ...step.batchInputs];
    const unfed = session.inputs.map((i) => i.name).filter((n) => !perStep.includes(n) && !initial[n]);
    if (unfed.length) {
      await session.close();
      throw new Error(`TrainSession.create: the step graph also takes ${unfed.join(', ')}; add them to the initial values`);
    }
    return new TrainSession(session, step);
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
    if (this.graph.stepsPerRun !== 1)
      throw new Error(`TrainSession.step: this graph runs ${this.graph.stepsPerRun} steps per run; call steps() with that many batches`);
    return (await this.runSteps('step', x, y, batch, [lr], feeds))[0];
  }

  /**
   * The K steps of a K-step graph (buildStepGraph stepsPerRun = K) in one run: `x` holds K
   * batches of `batch` examples one after another, `y` their labels, `lrs` one rate per step.
   * Returns the K losses, each before its step's update. (K-step graphs take no method hooks,
   * so there are no other per-step inputs.)
   */
  async steps(x: Float32Array, y: BigInt64Array | Int32Array, batch: number, lrs: number[]): Promise<Float32Array> {
    if (lrs.length !== this.graph.stepsPerRun)
      throw new Error(`TrainSession.steps: this graph runs ${this.graph.stepsPerRun} steps per run, got ${lrs.length} learning rates`);
    return this.runSteps('steps', x, y, batch, lrs, {});
  }

  private async runSteps(
    caller: string,
    x: Float32Array,
    y: BigInt64Array | Int32Array,
    batch: number,
    lrs: number[],
    feeds: Record<string, Value>,
  ): Promise<Float32Array> {
    const K = this.graph.stepsPerRun;
    const features = this.graph.inputDims.reduce((a, b) => a * b, 1);
    const stack = K > 1 ? [K] : [];
    const what = K > 1 ? `${K} batches of ${batch}` : `batch ${batch}`;
    if (x.length !== K * batch * features)
      throw new Error(
        `TrainSession.${caller}: x has ${x.length} values, ${what} x [${this.graph.inputDims.join(', ')}] needs ${K * batch * features}`,
      );
    if (y.length !== K * batch) throw new Error(`TrainSession.${caller}: y has ${y.length} labels for ${what}`);
    const out = await this.session.run(
      {
        x: { dtype: 'float32', dims: [...stack, batch, ...this.graph.inputDims], data: compact(x) },
        y: { dtype: 'int64', dims: [...stack, batch], data: isBigInt64Array(y) ? compact(y) : BigInt64Array.from(y, (v) => BigInt(v)) },
        lr: { dtype: 'float32', dims: stack, data: Float32Array.from(lrs) },
        ...feeds,
      },
      { fetch: ['loss'], feedback: true },
    );
    return out.loss.data as Float32Array;
  }

  /** Copies of the current params and optimizer state (and other float32 values held). */
  async read(): Promise<TensorMap> {
    return toTensorMap(await this.session.read());
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

/** A view into a larger buffer would be cloned whole when posted to the thread; copy just the view. */
function compact<T extends Float32Array | BigInt64Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}
