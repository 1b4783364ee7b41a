import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Element types a session input or output can have. */
export type ValueDType = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** A tensor crossing the thread boundary (any element type, unlike the float32-only TensorData). */
export interface Value {
  dtype: ValueDType;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
}

export interface ValueMeta {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface SessionOptions {
  /** ORT intra-op threads (default 2). */
  threads?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const WORKER_SCRIPT = path.join(__dirname, 'session-worker.js');

/**
 * One ONNX graph running in its own worker thread. ORT's `session.run` blocks the thread it runs
 * on, so keeping it off the main thread lets heartbeats and timers fire during long graphs.
 * Inputs not fed to `run` come from values stored in the thread (given at create, or fed back
 * from 'new.<name>' outputs). The thread is unref'd while idle so a forgotten session cannot
 * keep the process alive.
 */
export class GraphSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  /** The graph's inputs and outputs as onnxruntime reports them. */
  inputs: ValueMeta[] = [];
  outputs: ValueMeta[] = [];

  private constructor(private readonly worker: Worker) {
    this.listen();
  }

  static async create(bytes: Uint8Array, values: Record<string, Value> = {}, opts: SessionOptions = {}): Promise<GraphSession> {
    const session = new GraphSession(new Worker(WORKER_SCRIPT));
    try {
      const meta = (await session.call('create', { bytes, values, threads: opts.threads ?? 2 })) as {
        inputs: ValueMeta[];
        outputs: ValueMeta[];
      };
      session.inputs = meta.inputs;
      session.outputs = meta.outputs;
      return session;
    } catch (e) {
      session.failure = new Error('session failed to load');
      await session.worker.terminate();
      throw new Error(`could not load the ONNX graph into onnxruntime: ${(e as Error).message}`);
    }
  }

  /** Runs the graph once; returns the fetched outputs (all outputs when `fetch` is omitted). */
  async run(feeds: Record<string, Value>, opts: { fetch?: string[]; feedback?: boolean } = {}): Promise<Record<string, Value>> {
    return (await this.call('run', { feeds, fetch: opts.fetch, feedback: opts.feedback ?? false })) as Record<string, Value>;
  }

  /** Copies of stored values (all when `names` is omitted). */
  async read(names?: string[]): Promise<Record<string, Value>> {
    return (await this.call('read', { names })) as Record<string, Value>;
  }

  /** Replaces stored values. */
  async write(values: Record<string, Value>): Promise<void> {
    await this.call('write', { values });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    try {
      await this.call('close', {});
    } finally {
      this.failure = new Error('session is closed');
      await this.worker.terminate();
    }
  }

  private listen(): void {
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(new Error(`onnxruntime worker thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`onnxruntime worker thread exited (code ${code})`)));
  }

  private call(type: string, body: object): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, type, ...body });
    });
  }
}
