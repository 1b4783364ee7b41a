import {
  buildInferenceModel,
  dequantize,
  initParams,
  isQuantizable,
  mlp,
  quantizeRtn,
  Rng,
  type Model,
  type TensorData,
  type TensorMap,
} from '@retain/engine';
import type { SampleSet } from '@retain/data';
import type { QuantizeContext } from '@retain/sdk';
import { allocate, bandsOf } from './allocate';
import { mixedPrecisionConfigSchema } from './config';
import { mixedPrecisionQuantizer, quantizeMixed } from './index';

// 256 inputs: trunk.0 has 8 bands of 32 rows, so a few hundred bytes of unpacking graph are a small share of its codes.
const model = mlp({ inputSize: 256, hidden: [128], classesPerHead: 4, heads: 1 });
const params = initParams(model, 3);
const weights = model.params.filter((p) => isQuantizable(p.dims)).map((p) => p.name);

/** A labelled set of n random inputs (the proxy's data). */
function randomSet(n: number, seed: number): SampleSet {
  const rng = new Rng(seed);
  const inputs = Float32Array.from({ length: n * 256 }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  return {
    n,
    inputDims: [256],
    inputs,
    labels,
    gather: (indices: ArrayLike<number>, into: Float32Array) => {
      for (let k = 0; k < indices.length; k++) into.set(inputs.subarray(indices[k] * 256, (indices[k] + 1) * 256), k * 256);
      return into;
    },
  } as unknown as SampleSet;
}

function contextOf(config: unknown, fisher?: TensorMap, extra: Partial<QuantizeContext> = {}) {
  return {
    config: mixedPrecisionConfigSchema.parse(config),
    seed: 0,
    model: model as Model,
    params,
    head: 0,
    calibration: randomSet(64, 1),
    ...(fisher ? { methodFisher: async () => fisher } : {}),
    ...extra,
  } as QuantizeContext<ReturnType<typeof mixedPrecisionConfigSchema.parse>>;
}

const ones = (): TensorMap =>
  Object.fromEntries(weights.map((n) => [n, { dims: [...params[n].dims], data: new Float32Array(params[n].data.length).fill(1) }]));
const rtnInt4Bytes = (blockSize: number) =>
  buildInferenceModel(
    model,
    0,
    params,
    Object.fromEntries(weights.map((n) => [n, quantizeRtn(params[n], { bits: 4, granularity: 'block', blockSize, symmetric: true })])),
  ).byteLength;

describe('allocate', () => {
  // 64 x 16, bands of 16 rows: the first two bands carry 1000x the importance of the last two.
  const rng = new Rng(7);
  const weight: TensorData = { dims: [64, 16], data: Float32Array.from({ length: 64 * 16 }, () => rng.normal()) };
  const importance = Float32Array.from({ length: 64 * 16 }, (_, i) => (i < 32 * 16 ? 1000 : 1));
  const choices = [2, 3, 4, 8];
  const bands = bandsOf('w', weight, importance, 16, choices);

  test('the important half gets 8 bits, the rest 2, at 5 bits a weight: the budget, to the byte', () => {
    const budget = (5 * 64 * 16) / 8;
    const chosen = allocate(bands, choices, budget);
    expect(Array.from(chosen, (c) => choices[c])).toEqual([8, 8, 2, 2]);
    expect(bands.reduce((s, b, i) => s + (choices[chosen[i]] * b.elements) / 8, 0)).toBe(budget);
  });

  test('never over budget, and nothing that fits is left on the table', () => {
    for (const bits of [2, 2.5, 3, 3.7, 4, 6, 8]) {
      const budget = (bits * 64 * 16) / 8;
      const chosen = allocate(bands, choices, budget);
      const spent = bands.reduce((s, b, i) => s + (choices[chosen[i]] * b.elements) / 8, 0);
      expect(spent).toBeLessThanOrEqual(budget);
      // every band's next width would go over (or gains nothing)
      bands.forEach((b, i) => {
        if (chosen[i] + 1 < choices.length)
          expect(spent + ((choices[chosen[i] + 1] - choices[chosen[i]]) * b.elements) / 8).toBeGreaterThan(budget);
      });
    }
  });

  test('a budget below the narrowest width is refused, naming budgetBits', () => {
    expect(() => allocate(bands, choices, (1.9 * 64 * 16) / 8)).toThrow(/^budgetBits: the narrowest width \(2 bits\)/);
  });
});

describe('quantizeMixed', () => {
  test('uniform importance at budgetBits 4 gives int4 everywhere: the codes and the model bytes of RTN int4 block-wise', async () => {
    const plan = await quantizeMixed(contextOf({}, ones()));
    for (const n of weights) expect(plan.widths[n].every((w) => w === 4)).toBe(true);
    expect(plan.bytes).toBe(rtnInt4Bytes(32));
    expect(plan.budgetBytes).toBe(rtnInt4Bytes(32));
    for (const n of weights) {
      const rtn = quantizeRtn(params[n], { bits: 4, granularity: 'block', blockSize: 32, symmetric: true });
      expect(Array.from(plan.weights[n].q)).toEqual(Array.from(rtn.q));
      expect(Array.from(plan.weights[n].scale)).toEqual(Array.from(rtn.scale));
    }
  });

  test('importance on the first half of the first layer buys those bands more bits, within int4 bytes', async () => {
    const fisher = ones();
    const first = fisher['trunk.0.weight'];
    const cols = first.dims[1];
    for (let i = 0; i < first.data.length; i++) first.data[i] = i < 64 * cols ? 1e4 : 1e-2;
    const plan = await quantizeMixed(contextOf({}, fisher));
    const widths = plan.widths['trunk.0.weight']; // 8 bands of 32 rows: the first two weigh 1e6 times the rest
    expect(widths.slice(0, 2)).toEqual([8, 8]);
    expect(Math.max(...widths.slice(2))).toBeLessThan(4);
    expect(plan.bytes).toBeLessThanOrEqual(rtnInt4Bytes(32));
    expect(plan.importance).toBe('fisher');
    // the exported values are the dequantized codes (the export round trip is in conformance.test.ts)
    const w = dequantize(plan.weights['trunk.0.weight']);
    const err = (from: number, to: number) => {
      let s = 0;
      for (let i = from * cols; i < to * cols; i++) s += (w[i] - params['trunk.0.weight'].data[i]) ** 2;
      return s / ((to - from) * cols);
    };
    expect(err(0, 64)).toBeLessThan(err(64, 256) / 100);
  });

  test.each([3, 5])('budgetBits %i: the model bytes stay within RTN int4 bytes + (b - 4) bits a weight, and close to it', async (bits) => {
    const plan = await quantizeMixed(contextOf({ budgetBits: bits, importance: 'proxy', proxySamples: 32 }));
    const count = weights.reduce((s, n) => s + params[n].data.length, 0);
    expect(plan.budgetBytes).toBe(rtnInt4Bytes(32) + Math.floor(((bits - 4) * count) / 8));
    expect(plan.bytes).toBeLessThanOrEqual(plan.budgetBytes);
    expect(plan.bytes).toBeGreaterThan(plan.budgetBytes * 0.95);
    expect(plan.importance).toBe('proxy');
  });

  test('the same inputs give the same widths, codes and scales', async () => {
    const config = { budgetBits: 3.5, importance: 'proxy', proxySamples: 48 };
    const [a, b] = [await quantizeMixed(contextOf(config)), await quantizeMixed(contextOf(config))];
    expect(a.widths).toEqual(b.widths);
    for (const n of weights) {
      expect(Array.from(a.weights[n].q)).toEqual(Array.from(b.weights[n].q));
      expect(Array.from(a.weights[n].scale)).toEqual(Array.from(b.weights[n].scale));
    }
  });

  test('the proxy sums every task seen so far (taskData 0..taskIndex)', async () => {
    const seen: number[] = [];
    const taskData = (j: number) => {
      seen.push(j);
      return { train: randomSet(40, 10 + j), head: 0 };
    };
    const plan = await quantizeMixed(contextOf({ importance: 'proxy', proxySamples: 16 }, undefined, { taskIndex: 2, taskData }));
    expect(seen).toEqual([0, 1, 2]);
    expect(plan.importance).toBe('proxy');
  });

  test("importance 'fisher' without a method Fisher is refused, naming the field; 'auto' falls back to the proxy", async () => {
    await expect(quantizeMixed(contextOf({ importance: 'fisher' }, undefined, { methodFisher: async () => undefined }))).rejects.toThrow(
      /^importance: 'fisher' needs a method whose state keeps a Fisher diagonal/,
    );
    const plan = await quantizeMixed(contextOf({ proxySamples: 16 }, undefined, { methodFisher: async () => undefined }));
    expect(plan.importance).toBe('proxy');
  });
});

describe('config', () => {
  test.each([
    [{ budgetBits: 1 }, 'budgetBits'],
    [{ choices: [3, 4], budgetBits: 2.5 }, 'budgetBits'],
    [{ choices: [4, 4] }, 'choices'],
    [{ choices: [1, 4] }, 'choices'],
    [{ blockSize: 48 }, 'blockSize'],
    [{ importance: 'hessian' }, 'importance'],
    [{ proxySamples: 0 }, 'proxySamples'],
    [{ bits: 4 }, ''],
  ])('%j is refused at %s', (config, field) => {
    const result = mixedPrecisionConfigSchema.safeParse(config);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0];
    if (field) expect(issue.path[0]).toBe(field);
    else expect(issue.code).toBe('unrecognized_keys');
  });

  test('defaults, and the label names the budget', () => {
    const config = mixedPrecisionConfigSchema.parse({ choices: [8, 2, 4] });
    expect(config).toEqual({ choices: [2, 4, 8], budgetBits: 4, blockSize: 32, importance: 'auto', proxySamples: 256 });
    expect(mixedPrecisionQuantizer.label!(config)).toBe('mixed-precision-b4');
    expect(mixedPrecisionQuantizer.label!({ ...config, budgetBits: 3, blockSize: 64 })).toBe('mixed-precision-b3-block64');
  });
});
