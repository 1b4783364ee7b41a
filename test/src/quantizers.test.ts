import {
  buildInferenceModel,
  captureLayerInputs,
  cnn,
  decodeModel,
  dequantize,
  fromMatrixView,
  matrixView,
  InferenceSession,
  initParams,
  mlp,
  quantizeRtn,
  type Model,
  type QuantScheme,
  type TensorMap,
  numel,
} from '@retain/engine';
import { permutedScenario, type SampleSet, type Scenario } from '@retain/data';
import { supervisedConfigSchema, trainSupervised } from '@retain/trainer-supervised';
import { gptqQuantizer, quantizeGptq } from '@retain/quantizer-gptq';
import { hqqQuantizer, quantizeHqq } from '@retain/quantizer-hqq';
import { rtnQuantizer } from '@retain/quantizer-rtn';
import { w8a8Quantizer } from '@retain/quantizer-w8a8';
import type { QuantizerPlugin } from '@retain/sdk';

// The quantizers on a model trained on real Fashion-MNIST (one permuted task, 3000 examples,
// 2 epochs: a few seconds), measured on real activations of held-out test images.
let scenario: Scenario;
let model: Model;
let params: TensorMap;
const WEIGHTS = ['trunk.0.weight', 'trunk.1.weight', 'head.0.weight'];

beforeAll(async () => {
  scenario = await permutedScenario({ tasks: 1, trainPerTask: 3000, testPerTask: 1000 }, 5);
  model = mlp({ inputSize: 784, hidden: [128, 64], classesPerHead: 10, heads: 1 });
  params = await trainOnTheTask(model, 2);
});

/** `model`'s parameters after `epochs` of plain SGD (lr 0.05, seed 1) on the scenario's one task. */
async function trainOnTheTask(trained: Model, epochs: number): Promise<TensorMap> {
  const outcome = await trainSupervised({
    config: supervisedConfigSchema.parse({ epochs, lr: 0.05 }),
    seed: 1,
    taskIndex: 0,
    task: scenario.task(0),
    model: trained,
    head: 0,
    params: initParams(trained, 2),
    method: {},
    progress: () => {},
    signal: new AbortController().signal,
  });
  return outcome.params;
}

const all = (set: SampleSet, count = set.n) => ({ x: set.gather(Int32Array.from({ length: count }, (_, i) => i)), n: count });

/** Mean over examples of ||x W - x Q||^2 for one layer. */
function outputError(x: Float32Array, n: number, w: Float32Array, q: Float32Array, k: number, m: number): number {
  const diff = Float64Array.from(w, (v, i) => v - q[i]);
  let e = 0;
  const row = new Float64Array(m);
  for (let s = 0; s < n; s++) {
    row.fill(0);
    for (let i = 0; i < k; i++) {
      const xi = x[s * k + i];
      if (xi !== 0) for (let c = 0; c < m; c++) row[c] += xi * diff[i * m + c];
    }
    for (let c = 0; c < m; c++) e += row[c] * row[c];
  }
  return e / n;
}

const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('quantizers on a model trained on Fashion-MNIST', () => {
  test.each([
    ['int4 per-channel', { bits: 4, symmetric: true, granularity: 'per-channel' }],
    ['int4 block32', { bits: 4, symmetric: true, granularity: 'block', blockSize: 32 }],
  ] as [string, QuantScheme][])(
    'GPTQ %s: layer output error ||WX - QX|| on held-out test images is below RTN for every layer',
    async (_l, scheme) => {
      const calibration = all(scenario.task(0).train, 1024);
      const held = all(scenario.task(0).test);
      const calibrationInputs = await captureLayerInputs(model, 0, params, calibration.x, calibration.n);
      const heldInputs = await captureLayerInputs(model, 0, params, held.x, held.n);
      for (const name of WEIGHTS) {
        const [k, m] = params[name].dims;
        const rtn = dequantize(quantizeRtn(params[name], scheme));
        const gptq = dequantize(
          await quantizeGptq(params[name], calibrationInputs[name], calibration.n, scheme, { dampening: 0.01, lazyBatch: 128 }),
        );
        const rtnError = outputError(heldInputs[name], held.n, params[name].data, rtn, k, m);
        const gptqError = outputError(heldInputs[name], held.n, params[name].data, gptq, k, m);
        // Measured: 5x to 9x lower (per-channel trunk.0 6.27 -> 0.69, block32 trunk.1 3.03 -> 0.73).
        expect(gptqError).toBeLessThan(rtnError);
      }
    },
  );

  test.each([
    ['int4 block64', { bits: 4, symmetric: false, granularity: 'block', blockSize: 64 }],
    ['int4 per-channel', { bits: 4, symmetric: false, granularity: 'per-channel' }],
  ] as [string, QuantScheme][])('HQQ %s: weight error is below asymmetric RTN at the same bits for every layer', async (_l, scheme) => {
    const options = hqqQuantizer.configSchema.parse({});
    for (const name of WEIGHTS) {
      const rtn = meanAbs(dequantize(quantizeRtn(params[name], scheme)), params[name].data);
      const hqq = meanAbs(dequantize(await quantizeHqq(params[name], scheme, options)), params[name].data);
      // Measured: 3% to 13% lower mean |W - Q| (per-channel trunk.0 0.00568 -> 0.00492).
      expect(hqq).toBeLessThan(rtn);
    }
  });

  const plugins: [string, QuantizerPlugin<any>, unknown][] = [
    ['rtn int8', rtnQuantizer, { bits: 8 }],
    ['rtn int4 block32 (MatMulNBits)', rtnQuantizer, { bits: 4, granularity: 'block', blockSize: 32, format: 'matmulnbits' }],
    ['hqq int4 block64', hqqQuantizer, {}],
    ['w8a8 min-max', w8a8Quantizer, { calibrationSize: 512 }],
    [
      'w8a8 percentile 99.99, int8 activations',
      w8a8Quantizer,
      { calibration: 'percentile', percentile: 99.99, signedActivations: true, calibrationSize: 512 },
    ],
    [
      'gptq int4 block32 asymmetric (MatMulNBits)',
      gptqQuantizer,
      { granularity: 'block', blockSize: 32, symmetric: false, format: 'matmulnbits', calibrationSize: 512 },
    ],
  ];
  test.each(plugins)('%s: the plugin gives an ONNX model onnxruntime runs, close to fp32 accuracy', async (_l, plugin, config) => {
    const task = scenario.task(0);
    const outcome = await plugin.quantize({
      config: plugin.configSchema.parse(config),
      seed: 3,
      model,
      params,
      head: 0,
      calibration: task.train,
    });
    expect(Object.keys(outcome.weights).sort()).toEqual([...WEIGHTS].sort());
    const test = all(task.test);
    const accuracy = async (bytes: Uint8Array) => {
      const session = await InferenceSession.create(bytes);
      try {
        const pred = (await session.run(test.x, test.n)).pred!;
        return Array.from(pred).filter((p, i) => Number(p) === task.test.labels[i]).length / test.n;
      } finally {
        await session.close();
      }
    };
    const fp32 = await accuracy(buildInferenceModel(model, 0, params));
    const bytes = buildInferenceModel(model, 0, params, outcome.weights, outcome.export);
    const quantized = await accuracy(bytes);
    if (outcome.export?.activations)
      expect(decodeModel(bytes).graph.node.filter((node) => node.op_type === 'QuantizeLinear')).toHaveLength(3);
    expect(fp32).toBeGreaterThan(0.7);
    // Measured: fp32 0.748; rtn int8 0.747, rtn int4 block32 0.740, hqq 0.731, w8a8 0.747 / 0.751, gptq 0.751.
    expect(Math.abs(fp32 - quantized)).toBeLessThan(0.05);
  });
});

describe('conv weights (LeNet-5 trained on Fashion-MNIST): quantized per output channel and exported as QDQ', () => {
  let lenet: Model;
  let lenetParams: TensorMap;
  const CONVS = ['conv.0.weight', 'conv.1.weight'];
  beforeAll(async () => {
    lenet = cnn({ arch: 'lenet', image: [1, 28, 28], classesPerHead: 10, heads: 1 });
    lenetParams = await trainOnTheTask(lenet, 1);
  });

  /** `plugin` with an already parsed `config` on the trained LeNet, calibrated on task 0's training data. */
  const quantizeLenet = <C>(plugin: QuantizerPlugin<C>, config: C, seed: number) =>
    plugin.quantize({ config, seed, model: lenet, params: lenetParams, head: 0, calibration: scenario.task(0).train });

  const logitsOf = async (bytes: Uint8Array, x: Float32Array, n: number) => {
    const session = await InferenceSession.create(bytes);
    try {
      return (await session.run(x, n)).logits;
    } finally {
      await session.close();
    }
  };

  const convPlugins: [string, QuantizerPlugin<any>, unknown][] = [
    ['rtn int8 per-channel', rtnQuantizer, { bits: 8 }],
    ['rtn int4 per-channel', rtnQuantizer, { bits: 4 }],
    ['rtn int4 per-channel asymmetric', rtnQuantizer, { bits: 4, symmetric: false }],
    ['rtn int4 block32', rtnQuantizer, { bits: 4, granularity: 'block', blockSize: 32 }],
    ['hqq int4 per-channel', hqqQuantizer, { granularity: 'per-channel' }],
    ['gptq int4 per-channel (im2col)', gptqQuantizer, { calibrationSize: 256 }],
  ];
  test.each(convPlugins)(
    '%s: conv kernels are quantized and the exported model equals the TypeScript dequantize reference',
    async (_l, plugin, config) => {
      const parsed = plugin.configSchema.parse(config);
      const outcome = await quantizeLenet(plugin, parsed, 3);
      for (const name of CONVS) {
        const qw = outcome.weights[name];
        expect(qw.shape).toEqual(lenetParams[name].dims);
        expect(qw.dims).toEqual([numel(lenetParams[name].dims.slice(1)), lenetParams[name].dims[0]]);
        if (parsed.granularity === 'per-channel') expect(qw.scale).toHaveLength(lenetParams[name].dims[0]); // one step per output channel
      }
      const bytes = buildInferenceModel(lenet, 0, lenetParams, outcome.weights, outcome.export);
      const graph = decodeModel(bytes).graph;
      const convs = graph.node.filter((node) => node.op_type === 'Conv');
      const dequantized = new Set(graph.node.filter((node) => node.op_type === 'DequantizeLinear').flatMap((node) => node.output));
      const fedByDq = (input: string) =>
        dequantized.has(input) ||
        graph.node.some((n) => n.output.includes(input) && n.op_type === 'Reshape' && dequantized.has(n.input[0]));
      expect(convs).toHaveLength(2);
      for (const conv of convs) expect(fedByDq(conv.input[1])).toBe(true);
      if (parsed.granularity === 'per-channel') {
        // Per output channel: DequantizeLinear on axis 0 of the 4-D kernel feeds the Conv directly.
        const dqs = graph.node.filter((n) => n.op_type === 'DequantizeLinear' && convs.some((c) => c.input[1] === n.output[0]));
        expect(dqs).toHaveLength(2);
        // axis present (DequantizeLinear's default is 1) and 0; the decoder leaves a zero int out.
        for (const dq of dqs) expect(dq.attribute.filter((a) => a.name === 'axis').map((a) => a.i ?? 0)).toEqual([0]);
      }
      // The reference: the same model in float32 with every quantized weight replaced by its TypeScript dequantization.
      const reference = { ...lenetParams };
      for (const [name, qw] of Object.entries(outcome.weights)) reference[name] = fromMatrixView(qw, dequantize(qw));
      const test = all(scenario.task(0).test, 200);
      const quantized = await logitsOf(bytes, test.x, test.n);
      const expected = await logitsOf(buildInferenceModel(lenet, 0, reference), test.x, test.n);
      const maxDiff = quantized.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
      // Measured max |logit difference| <= 4e-6 (float32 summation order); logits are O(10).
      expect(maxDiff).toBeLessThan(1e-4);
    },
  );

  test('w8a8 on LeNet: only the MatMul weights get activation quantization; conv kernels stay float32 and the model runs', async () => {
    const outcome = await quantizeLenet(w8a8Quantizer, w8a8Quantizer.configSchema.parse({ calibrationSize: 128 }), 3);
    const matrices = lenet.params.filter((p) => p.dims.length === 2).map((p) => p.name);
    expect(Object.keys(outcome.weights).sort()).toEqual([...matrices].sort());
    expect(Object.keys(outcome.export?.activations ?? {}).sort()).toEqual([...matrices].sort());
    const test = all(scenario.task(0).test, 50);
    expect(await logitsOf(buildInferenceModel(lenet, 0, lenetParams, outcome.weights, outcome.export), test.x, test.n)).toHaveLength(
      50 * 10,
    );
  });

  test('RTN round trip of conv kernels: every weight within half a step of its value', async () => {
    for (const config of [{ bits: 8 }, { bits: 4 }, { bits: 4, symmetric: false }]) {
      const outcome = await quantizeLenet(rtnQuantizer, rtnQuantizer.configSchema.parse(config), 0);
      for (const name of CONVS) {
        const qw = outcome.weights[name];
        const back = fromMatrixView(qw, dequantize(qw)).data;
        const w = lenetParams[name].data;
        const perChannel = w.length / qw.scale.length; // conv layout [C_out, C_in, kh, kw]: channel = floor(i / (C_in kh kw))
        let worst = 0;
        for (let i = 0; i < w.length; i++) {
          const step = Math.abs(qw.scale[Math.floor(i / perChannel)]);
          const error = Math.abs(w[i] - back[i]);
          // half a step, plus float32 rounding of the product (relative 2^-23 of the value)
          expect(error).toBeLessThanOrEqual(step / 2 + 2 ** -23 * Math.abs(w[i]));
          worst = Math.max(worst, error / step);
        }
        expect(worst).toBeGreaterThan(0.4); // the bound is tight: some weight sits near a bucket edge
      }
    }
  });

  test('GPTQ int4 on conv kernels: the conv output error on held-out images is below RTN (im2col view)', async () => {
    const scheme: QuantScheme = { bits: 4, symmetric: true, granularity: 'per-channel' };
    const calibration = all(scenario.task(0).train, 256);
    const held = all(scenario.task(0).test, 200);
    const calibrationInputs = await captureLayerInputs(lenet, 0, lenetParams, calibration.x, calibration.n, { convPatches: true });
    const heldInputs = await captureLayerInputs(lenet, 0, lenetParams, held.x, held.n, { convPatches: true });
    for (const name of CONVS) {
      const view = matrixView(name, lenetParams[name]);
      const [k, m] = view.dims;
      const rtn = dequantize(quantizeRtn(view, scheme));
      const gptq = dequantize(
        await quantizeGptq(view, calibrationInputs[name], calibrationInputs[name].length / k, scheme, { dampening: 0.01, lazyBatch: 128 }),
      );
      const rows = heldInputs[name].length / k;
      const rtnError = outputError(heldInputs[name], rows, view.data, rtn, k, m);
      const gptqError = outputError(heldInputs[name], rows, view.data, gptq, k, m);
      // Measured mean squared conv output error, RTN -> GPTQ: conv.0 0.0746 -> 0.0651, conv.1 1.065 -> 0.269.
      expect(gptqError).toBeLessThan(rtnError);
    }
  });
});
