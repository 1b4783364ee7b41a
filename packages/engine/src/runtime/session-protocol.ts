import type { ExecutionProvider } from './devices';

// The messages between GraphSession (graph-session.ts) and its thread (session-worker.ts): both
// sides are typed from these declarations, so a request and its handler cannot drift apart.

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

/** A loaded graph's inputs and outputs as onnxruntime reports them. */
export interface GraphMeta {
  inputs: ValueMeta[];
  outputs: ValueMeta[];
}

/**
 * Bytes of the tensors the thread's runs handed to onnxruntime (fed and stored inputs) and took
 * back (outputs), counted per run. onnxruntime-node keeps no tensor on a CUDA device between runs,
 * so on CUDA these are the host-to-device and device-to-host copies.
 */
export interface RunTraffic {
  runs: number;
  bytesIn: number;
  bytesOut: number;
}

/** How the thread starts a graph's onnxruntime session. */
export interface SessionSettings {
  /** The device as onnxruntime names it (devices.ts's executionProvider), so the thread needs no device logic. */
  provider: ExecutionProvider;
  threads: number;
  spinning: boolean;
}

type Nothing = Record<string, never>;

/** Each request the thread handles, by type: its fields and what it answers. */
export interface SessionRequests {
  /** Starts `provider` on a tiny graph, so that a missing provider is told apart from a bad graph. */
  probe: { request: { bytes: Uint8Array; provider: ExecutionProvider }; response: Nothing };
  /** The main graph, and the initial stored values. */
  create: { request: SessionSettings & { bytes: Uint8Array; values: Record<string, Value> }; response: GraphMeta };
  /** Another graph in the same thread, sharing the stored values. */
  load: { request: SessionSettings & { name: string; bytes: Uint8Array }; response: GraphMeta };
  /**
   * One run: `feeds` for this call, other inputs from the store; with `feedback`, every output
   * 'new.<x>' replaces stored value <x>. Answers the outputs in `fetch` (all when absent).
   */
  run: { request: { feeds: Record<string, Value>; fetch?: string[]; feedback: boolean; graph?: string }; response: Record<string, Value> };
  /** Copies of stored values (all when `names` is absent). */
  read: { request: { names?: string[] }; response: Record<string, Value> };
  write: { request: { values: Record<string, Value> }; response: Nothing };
  /** What crossed the runtime boundary so far (see RunTraffic). */
  traffic: { request: Nothing; response: RunTraffic };
  close: { request: Nothing; response: Nothing };
}

export type SessionRequestType = keyof SessionRequests;

/** A request as posted to the thread: an id to match the reply, its type, its fields. */
export type SessionMessage<K extends SessionRequestType = SessionRequestType> = {
  [T in K]: { id: number; type: T } & SessionRequests[T]['request'];
}[K];

/** The thread's reply to the request with the same id. */
export type SessionReply<K extends SessionRequestType = SessionRequestType> =
  { id: number; ok: true; result: SessionRequests[K]['response'] } | { id: number; ok: false; error: string };
