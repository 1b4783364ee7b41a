// The thread that owns one onnxruntime session. Values kept between calls (parameters, optimizer
// state) live in `store` as ORT tensors, so a training step moves only the batch in and the loss
// out. The thread may hold several graphs (a one-step and a K-step training graph) that read and
// feed back the same stored values. Requests and replies are typed by session-protocol.ts.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type {
  GraphMeta,
  SessionMessage,
  SessionReply,
  SessionRequests,
  SessionRequestType,
  SessionSettings,
  Value,
} from './session-protocol';

const MAIN = 'main';
/**
 * A developer's switch, not a setting: with RETAIN_ORT_PROFILE=<path prefix> every session writes
 * onnxruntime's per-node profile (`<prefix>-<graph>_<time>.json`) when it closes;
 * test/dist/bench/ort-profile.js sums it per op type (test/bench/README.md, "Where a step's time goes").
 */
const PROFILE_PREFIX = process.env.RETAIN_ORT_PROFILE;
const sessions = new Map<string, ort.InferenceSession>();
const store = new Map<string, ort.Tensor>();
const traffic = { runs: 0, bytesIn: 0, bytesOut: 0 };
const bytesOf = (tensors: Iterable<ort.Tensor>) => [...tensors].reduce((n, t) => n + (t.data as ArrayBufferView).byteLength, 0);

const toOrt = (v: Value): ort.Tensor => new ort.Tensor(v.dtype, v.data, v.dims);
// ORT reports the element types this engine feeds and its graphs output: those of a Value.
const fromOrt = (t: ort.Tensor): Value => ({
  dtype: t.type as Value['dtype'],
  dims: Array.from(t.dims),
  data: (t.data as Value['data']).slice(),
});

type Handlers = { [K in SessionRequestType]: (req: SessionRequests[K]['request']) => Promise<SessionRequests[K]['response']> };

const handlers: Handlers = {
  async probe({ bytes, provider }) {
    const probe = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
    await probe.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
    await probe.release();
    return {};
  },

  async create({ bytes, values, threads, provider, spinning }) {
    const meta = await loadGraph(MAIN, bytes, { threads, provider, spinning });
    for (const [name, v] of Object.entries(values)) store.set(name, toOrt(v));
    return meta;
  },

  async load({ name, bytes, threads, provider, spinning }) {
    return loadGraph(name, bytes, { threads, provider, spinning });
  },

  async run({ feeds, fetch, feedback, graph }) {
    const session = sessions.get(graph ?? MAIN);
    if (!session) throw new Error(`no graph named '${graph}' is loaded`);
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const stored = store.get(name);
      if (feeds[name]) inputs[name] = toOrt(feeds[name]);
      else if (stored) inputs[name] = stored;
      else throw new Error(`graph input '${name}' was neither fed nor given as an initial value; pass it to create() or run()`);
    }
    const outputs = await session.run(inputs);
    traffic.runs++;
    traffic.bytesIn += bytesOf(Object.values(inputs));
    traffic.bytesOut += bytesOf(Object.values(outputs));
    if (feedback) {
      for (const [name, t] of Object.entries(outputs)) if (name.startsWith('new.')) store.set(name.slice(4), t);
    }
    const result: Record<string, Value> = {};
    for (const name of fetch ?? session.outputNames) result[name] = fromOrt(outputs[name]);
    return result;
  },

  async read({ names }) {
    const result: Record<string, Value> = {};
    for (const name of names ?? store.keys()) {
      const t = store.get(name);
      if (!t) throw new Error(`no stored value named '${name}'`);
      result[name] = fromOrt(t);
    }
    return result;
  },

  async write({ values }) {
    for (const [name, v] of Object.entries(values)) store.set(name, toOrt(v));
    return {};
  },

  async traffic() {
    return { ...traffic };
  },

  async close() {
    for (const session of sessions.values()) {
      if (PROFILE_PREFIX) session.endProfiling();
      await session.release();
    }
    sessions.clear();
    store.clear();
    return {};
  },
};

async function loadGraph(name: string, bytes: Uint8Array, { threads, provider, spinning }: SessionSettings): Promise<GraphMeta> {
  if (sessions.has(name)) throw new Error(`a graph named '${name}' is already loaded`);
  const session = await ort.InferenceSession.create(bytes, {
    // One provider only: a device that cannot start fails here instead of falling back to the CPU.
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // ORT fuses DequantizeLinear + MatMul into MatMulNBits, by default at accuracy level 4,
    // which quantizes activations to int8 (errors ~1e-3). Level 1 keeps fp32 compute, so a
    // quantized model computes what its ONNX says: dequantize, then matmul.
    // Idle intra-op threads block instead of spinning unless asked (see SessionOptions.spinning).
    extra: { session: { qdq_matmulnbits_accuracy_level: '1', 'intra_op.allow_spinning': spinning ? '1' : '0' } },
    ...(PROFILE_PREFIX ? { enableProfiling: true, profileFilePrefix: `${PROFILE_PREFIX}-${name}` } : {}),
  });
  sessions.set(name, session);
  // Every value of an engine graph is a tensor.
  const meta = (m: ort.InferenceSession.ValueMetadata) => ({
    name: m.name,
    dtype: m.isTensor ? m.type : 'non-tensor',
    shape: m.isTensor ? [...m.shape] : [],
  });
  return { inputs: session.inputMetadata.map(meta), outputs: session.outputMetadata.map(meta) };
}

/** Runs the handler of `msg.type` (generic, so the handler and the message are typed together). */
function handle<K extends SessionRequestType>(msg: SessionMessage<K>): Promise<SessionRequests[K]['response']> {
  const handler: Handlers[K] = handlers[msg.type];
  return handler(msg);
}

/** The buffers of the Values in a result, moved to the main thread instead of copied. */
function transferables(result: object): ArrayBuffer[] {
  return Object.values(result).flatMap((v) => (v && ArrayBuffer.isView(v.data) ? [v.data.buffer as ArrayBuffer] : []));
}

const port = parentPort;
if (!port) throw new Error('session-worker runs as a worker thread, started by GraphSession');
port.on('message', async (msg: SessionMessage) => {
  try {
    const result = await handle(msg);
    port.postMessage({ id: msg.id, ok: true, result } satisfies SessionReply, transferables(result));
  } catch (e) {
    port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies SessionReply);
  }
});
