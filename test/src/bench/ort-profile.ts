// Where a training step's time goes: sums onnxruntime profiles (written by sessions started with
// RETAIN_ORT_PROFILE=<prefix>, see packages/engine/src/runtime/session-worker.ts) per op type and
// per node, and prints the shares.
//   RETAIN_ORT_PROFILE=/tmp/prof/lm node test/dist/bench/engine.js --only causal-lm-6m --k 1
//   node test/dist/bench/ort-profile.js /tmp/prof/lm-*.json [--top 20] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { summarizeProfile, type ProfileEvent } from '@retain/engine';

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
