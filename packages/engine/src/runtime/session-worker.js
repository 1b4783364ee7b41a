'use strict';
// The thread that owns one onnxruntime session. Plain CommonJS on purpose: worker threads have no
// TypeScript loader, and this file must run unchanged from src/ (under jest) and from dist/.
// Values kept between calls (parameters, optimizer state) live in `store` as ORT tensors, so a
// training step moves only the batch in and the loss out. The thread may hold several graphs
// (a one-step and a K-step training graph) that read and feed back the same stored values.
const { parentPort } = require('node:worker_threads');
const ort = require('onnxruntime-node');

const MAIN = 'main';
const sessions = new Map();
const store = new Map();

const toOrt = (v) => new ort.Tensor(v.dtype, v.data, v.dims);
const fromOrt = (t) => ({ dtype: t.type, dims: Array.from(t.dims), data: t.data.slice() });

const handlers = {
  // Starts `device` on a tiny graph, so that a missing provider is told apart from a bad graph.
  async probe({ bytes, device }) {
    const probe = await ort.InferenceSession.create(bytes, { executionProviders: [device] });
    await probe.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
    await probe.release();
    return {};
  },

  async create({ bytes, values, threads, device, spinning }) {
    const meta = await handlers.load({ name: MAIN, bytes, threads, device, spinning });
    for (const [name, v] of Object.entries(values)) store.set(name, toOrt(v));
    return meta;
  },

  // Another graph in this thread, sharing the stored values.
  async load({ name, bytes, threads, device, spinning }) {
    if (sessions.has(name)) throw new Error(`a graph named '${name}' is already loaded`);
    const session = await ort.InferenceSession.create(bytes, {
      // One provider only: a device that cannot start fails here instead of falling back to the CPU.
      executionProviders: [device],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // ORT fuses DequantizeLinear + MatMul into MatMulNBits, by default at accuracy level 4,
      // which quantizes activations to int8 (errors ~1e-3). Level 1 keeps fp32 compute, so a
      // quantized model computes what its ONNX says: dequantize, then matmul.
      // Idle intra-op threads block instead of spinning unless asked (see SessionOptions.spinning).
      extra: { session: { qdq_matmulnbits_accuracy_level: '1', 'intra_op.allow_spinning': spinning ? '1' : '0' } },
    });
    sessions.set(name, session);
    const meta = (m) => ({ name: m.name, dtype: m.type, shape: m.shape });
    return { inputs: session.inputMetadata.map(meta), outputs: session.outputMetadata.map(meta) };
  },

  // feeds: values for this call; other inputs come from the store. With `feedback`, every output
  // named 'new.<x>' replaces stored value <x>. Returns the outputs listed in `fetch`.
  async run({ feeds, fetch, feedback, graph }) {
    const session = sessions.get(graph ?? MAIN);
    if (!session) throw new Error(`no graph named '${graph}' is loaded`);
    const inputs = {};
    for (const name of session.inputNames) {
      if (feeds[name]) inputs[name] = toOrt(feeds[name]);
      else if (store.has(name)) inputs[name] = store.get(name);
      else throw new Error(`graph input '${name}' was neither fed nor given as an initial value; pass it to create() or run()`);
    }
    const outputs = await session.run(inputs);
    if (feedback) {
      for (const [name, t] of Object.entries(outputs)) if (name.startsWith('new.')) store.set(name.slice(4), t);
    }
    const result = {};
    for (const name of fetch ?? session.outputNames) result[name] = fromOrt(outputs[name]);
    return result;
  },

  async read({ names }) {
    const result = {};
    for (const name of names ?? store.keys()) {
      if (!store.has(name)) throw new Error(`no stored value named '${name}'`);
      result[name] = fromOrt(store.get(name));
    }
    return result;
  },

  async write({ values }) {
    for (const [name, v] of Object.entries(values)) store.set(name, toOrt(v));
    return {};
  },

  async close() {
    for (const session of sessions.values()) await session.release();
    sessions.clear();
    store.clear();
    return {};
  },
};

parentPort.on('message', async (msg) => {
  try {
    const result = await handlers[msg.type](msg);
    const transfer = Object.values(result).flatMap((v) => (v && v.data && v.data.buffer ? [v.data.buffer] : []));
    parentPort.postMessage({ id: msg.id, ok: true, result }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: e && e.message ? e.message : String(e) });
  }
});
