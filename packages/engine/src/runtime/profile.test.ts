import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../graph/graph';
import { add, matmul, relu } from '../graph/ops';
import { GraphSession } from './graph-session';
import { summarizeProfile, type ProfileEvent } from './profile';

describe('RETAIN_ORT_PROFILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'retain-ort-profile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("makes a session write onnxruntime's per-node profile when it closes, which summarizeProfile sums per op type", async () => {
    const g = new Graph('profiled');
    const x = g.input('x', [4, 8]);
    g.output('y', relu(add(matmul(x, g.input('w', [8, 3])), 1)));
    const values = (dims: number[]) => ({
      dtype: 'float32' as const,
      dims,
      data: Float32Array.from({ length: dims[0] * dims[1] }, (_, i) => i / 10),
    });
    const previous = process.env.RETAIN_ORT_PROFILE;
    // The session thread reads the switch when it starts, from the environment it inherits.
    process.env.RETAIN_ORT_PROFILE = join(dir, 'test');
    let session: GraphSession;
    try {
      session = await GraphSession.create(g.toBytes());
    } finally {
      if (previous === undefined) delete process.env.RETAIN_ORT_PROFILE;
      else process.env.RETAIN_ORT_PROFILE = previous;
    }
    for (let i = 0; i < 3; i++) await session.run({ x: values([4, 8]), w: values([8, 3]) });
    await session.close();

    const files = readdirSync(dir).filter((f) => f.startsWith('test-') && f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const events = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as ProfileEvent[];
    const summary = summarizeProfile(events);
    expect(summary.totalMicros).toBeGreaterThan(0);
    // ORT may fuse the Add (and Relu) into the MatMul; whatever runs, every kernel is counted once.
    expect(summary.byOp.map((o) => o.op).some((op) => /MatMul|Gemm/.test(op))).toBe(true);
    expect(summary.byOp.reduce((sum, o) => sum + o.share, 0)).toBeCloseTo(1, 10);
    expect(summary.byOp.reduce((sum, o) => sum + o.micros, 0)).toBe(summary.totalMicros);
    expect(summary.topNodes[0].share).toBeGreaterThan(0);
  });

  it('sums events per node and per op type, kernel events only, largest first', () => {
    const ev = (name: string, op: string, dur: number, cat = 'Node'): ProfileEvent => ({ cat, name, dur, args: { op_name: op } });
    const s = summarizeProfile([
      ev('a_kernel_time', 'MatMul', 30),
      ev('a_kernel_time', 'MatMul', 30),
      ev('b_kernel_time', 'Add', 20),
      ev('c_kernel_time', 'MatMul', 20),
      ev('a_fence_before', 'MatMul', 500),
      ev('session_initialization', '', 900, 'Session'),
    ]);
    expect(s.totalMicros).toBe(100);
    expect(s.byOp).toEqual([
      { op: 'MatMul', micros: 80, nodes: 2, share: 0.8 },
      { op: 'Add', micros: 20, nodes: 1, share: 0.2 },
    ]);
    expect(s.topNodes.map((n) => [n.node, n.micros])).toEqual([
      ['a', 60],
      ['b', 20],
      ['c', 20],
    ]);
  });
});
