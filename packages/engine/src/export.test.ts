import { buildInferenceModel, type QuantizedWeight } from './export';
import { initParams, mlp } from './models';
import { decodeModel } from './onnx/proto';
import { Rng } from './rng';
import { InferenceSession } from './runtime';
import { buildEvalGraph } from './step';
import type { TensorMap } from './tensor';

const model = mlp({ inputSize: 6, hidden: [5, 4], classesPerHead: 3, heads: 2 });
const params = initParams(model, 11);
const batch = 7;
const rng = new Rng(4);
const x = Float32Array.from({ length: batch * 6 }, () => rng.normal());

/** Symmetric per-output-channel quantization of an [in, out] weight (what a round-to-nearest quantizer does). */
function quantize(w: { dims: number[]; data: Float32Array }, bits: 4 | 8): QuantizedWeight {
  const [rows, cols] = w.dims;
  const qmax = bits === 4 ? 7 : 127;
  const scale = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    let m = 0;
    for (let i = 0; i < rows; i++) m = Math.max(m, Math.abs(w.data[i * cols + j]));
    scale[j] = m / qmax || 1;
  }
  const q = Int8Array.from(w.data, (v, k) => Math.max(-qmax - 1, Math.min(qmax, Math.round(v / scale[k % cols]))));
  return { bits, axis: 1, q, scale };
}

/** Plain-TS forward: dequantize, then x @ W + b with relu between layers (float64 accumulation). */
function reference(p: TensorMap, qw: Record<string, QuantizedWeight>, head: number): number[] {
  const weight = (name: string) =>
    qw[name] ? Array.from(qw[name].q, (c, k) => Math.fround(c * qw[name].scale[k % p[name].dims[1]])) : Array.from(p[name].data);
  let a = Array.from(x);
  let width = 6;
  const layers = ['trunk.0', 'trunk.1', `head.${head}`];
  layers.forEach((l, li) => {
    const [rows, cols] = p[`${l}.weight`].dims;
    expect(rows).toBe(width);
    const w = weight(`${l}.weight`);
    const b = p[`${l}.bias`].data;
    const out = new Array(batch * cols).fill(0);
    for (let i = 0; i < batch; i++)
      for (let j = 0; j < cols; j++) {
        let s = b[j];
        for (let k = 0; k < rows; k++) s += a[i * rows + k] * w[k * cols + j];
        out[i * cols + j] = li < layers.length - 1 ? Math.max(0, s) : s;
      }
    a = out;
    width = cols;
  });
  return a;
}

function expectClose(got: ArrayLike<number>, want: number[], rel: number) {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(rel * scale);
}

describe('inference export', () => {
  test('the eval graph (params fed) and the exported model (params inside) give the same logits and preds', async () => {
    const head = 1;
    const evalSession = await InferenceSession.create(buildEvalGraph(model, head), params);
    const exported = await InferenceSession.create(buildInferenceModel(model, head, params));
    try {
      const a = await evalSession.run(x, batch);
      const b = await exported.run(x, batch);
      expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
      expect(Array.from(a.pred!)).toEqual(Array.from(b.pred!));
      expectClose(a.logits, reference(params, {}, head), 1e-5);
      const preds = Array.from(a.pred!, Number);
      preds.forEach((p, i) => expect(a.logits[i * 3 + p]).toBe(Math.max(...Array.from(a.logits.subarray(i * 3, i * 3 + 3)))));
    } finally {
      await evalSession.close();
      await exported.close();
    }
  });

  test.each([8, 4] as const)('int%i QDQ model matches a dequantize-then-matmul reference within 1e-5 relative', async (bits) => {
    const head = 0;
    const quantized = Object.fromEntries(['trunk.0.weight', 'trunk.1.weight', 'head.0.weight'].map((n) => [n, quantize(params[n], bits)]));
    const bytes = buildInferenceModel(model, head, params, quantized);
    const proto = decodeModel(bytes);
    const q = proto.graph.initializer.find((t) => t.dims.join() === '6,5' && t.data_type !== 1)!;
    expect(q.data_type).toBe(bits === 4 ? 22 : 3); // INT4 / INT8 initializer, not float
    expect(q.raw_data.length).toBe(bits === 4 ? 15 : 30); // int4 packs two codes per byte
    expect(proto.graph.node.filter((n) => n.op_type === 'DequantizeLinear')).toHaveLength(3);

    const session = await InferenceSession.create(bytes);
    try {
      const out = await session.run(x, batch);
      expectClose(out.logits, reference(params, quantized, head), 1e-5);
      // and it differs from the float model (the quantization is really applied)
      const float = reference(params, {}, head);
      expect(Math.max(...Array.from(out.logits, (v, i) => Math.abs(v - float[i])))).toBeGreaterThan(1e-4);
    } finally {
      await session.close();
    }
  });

  test('a quantized weight with the wrong number of scales is rejected with the weight named', () => {
    const bad = { ...quantize(params['trunk.0.weight'], 8), scale: new Float32Array(2) };
    expect(() => buildInferenceModel(model, 0, params, { 'trunk.0.weight': bad })).toThrow(/trunk\.0\.weight.*2 scales/);
  });

  test('a missing parameter is named in the error', () => {
    const { ['head.0.bias']: _omit, ...partial } = params;
    expect(() => buildInferenceModel(model, 0, partial)).toThrow(/'head\.0\.bias' is missing/);
  });
});
