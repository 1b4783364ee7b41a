// onnxruntime's per-node profiles, summed: where a graph's time goes. Sessions write them when
// started with RETAIN_ORT_PROFILE=<path prefix> (session-worker.ts); test/dist/bench/ort-profile.js
// prints this summary for profile files.

/** One event of ORT's Chrome-trace profile; kernel runs are cat 'Node', named '<node>_kernel_time'. */
export interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

export interface OpTime {
  op: string;
  /** Microseconds summed over every run of every node of this op type. */
  micros: number;
  share: number;
  nodes: number;
}

export interface ProfileSummary {
  totalMicros: number;
  byOp: OpTime[];
  topNodes: { node: string; op: string; micros: number; share: number }[];
}

/** Kernel time per op type and per node over the given profiles' events. */
export function summarizeProfile(events: ProfileEvent[], top = 20): ProfileSummary {
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const total = kernels.reduce((sum, e) => sum + e.dur, 0);
  const perNode = new Map<string, { op: string; micros: number }>();
  for (const e of kernels) {
    const node = e.name.slice(0, -'_kernel_time'.length);
    const entry = perNode.get(node) ?? { op: e.args?.op_name ?? '?', micros: 0 };
    entry.micros += e.dur;
    perNode.set(node, entry);
  }
  const perOp = new Map<string, { micros: number; nodes: number }>();
  for (const { op, micros } of perNode.values()) {
    const entry = perOp.get(op) ?? { micros: 0, nodes: 0 };
    entry.micros += micros;
    entry.nodes++;
    perOp.set(op, entry);
  }
  const share = (micros: number) => (total ? micros / total : 0);
  return {
    totalMicros: total,
    byOp: [...perOp].map(([op, v]) => ({ op, ...v, share: share(v.micros) })).sort((a, b) => b.micros - a.micros),
    topNodes: [...perNode]
      .map(([node, v]) => ({ node, ...v, share: share(v.micros) }))
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top),
  };
}
