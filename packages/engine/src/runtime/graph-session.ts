import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { add, Graph } from '../graph';
import { deviceInstallHint, executionProvider, parseDevice, type Device } from './devices';
import type {
  GraphMeta,
  SessionMessage,
  SessionReply,
  SessionRequests,
  SessionRequestType,
  RunTraffic,
  SessionSettings,
  Value,
  ValueMeta,
} from './session-protocol';

export type { RunTraffic, Value, ValueDType, ValueMeta } from './session-protocol';

export interface SessionOptions {
  /** Execution provider (default 'cpu', or what configureSessions set). */
  device?: Device;
  /** ORT intra-op threads (default 2, or what configureSessions set). */
  threads?: number;
  /**
   * Whether idle ORT threads spin while waiting for work (default false). Measured on a shared
   * 2-core machine, MLP 784-400-400-10 at batch 128 with 2 threads: 24-32 ms/step spinning,
   * 7-12 ms blocking, since spinning threads take the cores other threads need. Spinning can
   * pay on a machine whose cores are all ORT's.
   */
  spinning?: boolean;
}

const sessionDefaults: Required<SessionOptions> = { device: 'cpu', threads: 2, spinning: false };

/**
 * Process-wide defaults for sessions created without options: a Retain worker sets its device and
 * thread count once at start (`retain worker --device cuda --threads 8`), and every plugin's
 * sessions follow without passing them around.
 */
export function configureSessions(opts: SessionOptions): void {
  if (opts.device !== undefined) sessionDefaults.device = parseDevice(opts.device, 'sessions.device');
  if (opts.spinning !== undefined) sessionDefaults.spinning = opts.spinning;
  if (opts.threads !== undefined) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1)
      throw new Error(`sessions.threads must be a positive integer, got ${opts.threads}`);
    sessionDefaults.threads = opts.threads;
  }
}

/** The device and thread count a session created with `opts` gets. */
export function resolveSessionOptions(opts: SessionOptions = {}): Required<SessionOptions> {
  return {
    device: parseDevice(opts.device ?? sessionDefaults.device),
    threads: opts.threads ?? sessionDefaults.threads,
    spinning: opts.spinning ?? sessionDefaults.spinning,
  };
}

interface Pending {
  resolve: (v: SessionRequests[SessionRequestType]['response']) => void;
  reject: (e: Error) => void;
}

/**
 * The session thread. Built code runs session-worker.js beside this file; from TypeScript sources
 * (under jest, which needs no build) the thread runs session-worker.ts compiled by swc, as jest
 * compiles the main thread, once per process.
 */
function startWorker(): Worker {
  // The environment this module sees (a test's, under jest), which the thread reads its switches
  // from (RETAIN_ORT_PROFILE); Node's default would be the process's own.
  const env = process.env;
  if (!__filename.endsWith('.ts')) return new Worker(path.join(__dirname, 'session-worker.js'), { env });
  const file = path.join(__dirname, 'session-worker.ts');
  if (compiledWorker === undefined) {
    const swc: { transformSync(code: string, options: object): { code: string } } = createRequire(__filename)('@swc/core');
    const options = { filename: file, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } };
    compiledWorker = swc.transformSync(readFileSync(file, 'utf8'), options).code;
  }
  return new Worker(RUN_AS_MODULE, { eval: true, env, workerData: { file, code: compiledWorker } });
}

let compiledWorker: string | undefined;

/** Runs compiled code as the CommonJS module `file`, so its requires resolve from there. */
const RUN_AS_MODULE = `
const Module = require('node:module');
const { workerData } = require('node:worker_threads');
const m = new Module(workerData.file);
m.filename = workerData.file;
m.paths = Module._nodeModulePaths(require('node:path').dirname(workerData.file));
m._compile(workerData.code, workerData.file);
`;

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

  private constructor(
    private readonly worker: Worker,
    private readonly options: SessionSettings,
  ) {
    this.listen();
  }

  static async create(bytes: Uint8Array, values: Record<string, Value> = {}, opts: SessionOptions = {}): Promise<GraphSession> {
    const { device, threads, spinning } = resolveSessionOptions(opts);
    const provider = executionProvider(device);
    const session = new GraphSession(startWorker(), { provider, threads, spinning });
    try {
      // A tiny graph first, so that a device which cannot start is told apart from a bad graph.
      if (device !== 'cpu') await session.call('probe', { bytes: probeGraph(), provider });
    } catch (e) {
      session.failure = new Error('session failed to start');
      await session.worker.terminate();
      throw new Error(`device '${device}' is not available: ${deviceInstallHint(device)}. (onnxruntime: ${firstLine(e)})`);
    }
    try {
      const meta = await session.call('create', { bytes, values, threads, provider, spinning });
      session.inputs = meta.inputs;
      session.outputs = meta.outputs;
      return session;
    } catch (e) {
      session.failure = new Error('session failed to load');
      await session.worker.terminate();
      throw new Error(`could not load the ONNX graph into onnxruntime: ${(e as Error).message}`);
    }
  }

  /**
   * Loads another graph into this session's thread, with the same device and threads; it reads
   * and feeds back the same stored values (a one-step and a K-step training graph take turns).
   * Returns its inputs and outputs; `run(..., { graph: name })` runs it.
   */
  async load(name: string, bytes: Uint8Array): Promise<GraphMeta> {
    try {
      return await this.call('load', { name, bytes, ...this.options });
    } catch (e) {
      throw new Error(`could not load the ONNX graph '${name}' into onnxruntime: ${(e as Error).message}`);
    }
  }

  /**
   * Runs the graph once (the one given at create, or a `load`ed one named by `graph`); returns the
   * fetched outputs (all outputs when `fetch` is omitted).
   */
  async run(
    feeds: Record<string, Value>,
    opts: { fetch?: string[]; feedback?: boolean; graph?: string } = {},
  ): Promise<Record<string, Value>> {
    return this.call('run', { feeds, fetch: opts.fetch, feedback: opts.feedback ?? false, graph: opts.graph });
  }

  /** Copies of stored values (all when `names` is omitted). */
  async read(names?: string[]): Promise<Record<string, Value>> {
    return this.call('read', { names });
  }

  /** Replaces stored values. */
  async write(values: Record<string, Value>): Promise<void> {
    await this.call('write', { values });
  }

  /** The bytes this session's runs have fed onnxruntime and taken back (RunTraffic). */
  traffic(): Promise<RunTraffic> {
    return this.call('traffic', {});
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
    this.worker.on('message', (msg: SessionReply) => {
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

  private call<K extends SessionRequestType>(type: K, body: SessionRequests[K]['request']): Promise<SessionRequests[K]['response']> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The reply to this id answers this request: its result is K's response.
      this.pending.set(id, { resolve: (v) => resolve(v as SessionRequests[K]['response']), reject });
      this.worker.ref();
      const message = { id, type, ...body } as SessionMessage<K>;
      this.worker.postMessage(message);
    });
  }
}

/** Fails, saying what to install, when `device` cannot start here; a worker calls it once at start. */
export async function assertDeviceAvailable(device: Device): Promise<void> {
  await (await GraphSession.create(probeGraph(), { x: { dtype: 'float32', dims: [1], data: new Float32Array([1]) } }, { device })).close();
}

let probeBytes: Uint8Array | undefined;
/** y = x + 1 on a [1] tensor: the smallest graph that makes an execution provider start. */
function probeGraph(): Uint8Array {
  if (!probeBytes) {
    const g = new Graph('device-probe');
    g.output('y', add(g.input('x', [1]), 1));
    probeBytes = g.toBytes();
  }
  return probeBytes;
}

function firstLine(e: unknown): string {
  return ((e as Error).message ?? String(e)).split('\n')[0];
}
