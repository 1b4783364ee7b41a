// Where a training step's time goes: sums onnxruntime profiles (written by sessions started with
// RETAIN_ORT_PROFILE=<prefix>, see packages/engine/src/runtime/session-worker.ts) per op type and
// per node, and prints the shares.
//   RETAIN_ORT_PROFILE=/tmp/prof/lm node test/dist/bench/engine.js --only causal-lm-6m --k 1
//   node test/dist/bench/ort-profile.js /tmp/prof/lm-*.json [--top 20] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';

/** One event of ORT's Chrome-trace profile; kernel runs are cat 'Node', named '<node>_kernel_time'. */
interface ProfileEvent {
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

function main(argv: string[]): void {
  const files: string[] = [];
  let top = 20;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else if (argv[i] === '--json') out = argv[++i];
    else files.push(argv[i]);
  }
  if (!files.length) throw new Error('usage: ort-profile.js <profile.json>... [--top N] [--json out.json]');
  const events = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as ProfileEvent[]);
  const summary = summarizeProfile(events, top);
  const pct = (s: number) => `${(100 * s).toFixed(1).padStart(5)}%`;
  console.log(`kernel time ${(summary.totalMicros / 1e6).toFixed(2)} s over ${files.length} profile(s)\n\nper op type:`);
  for (const o of summary.byOp) console.log(`${pct(o.share)}  ${o.op.padEnd(24)} ${o.nodes} nodes`);
  console.log(`\ntop ${top} nodes:`);
  for (const n of summary.topNodes) console.log(`${pct(n.share)}  ${n.op.padEnd(24)} ${n.node}`);
  if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
}

if (require.main === module) main(process.argv.slice(2));
