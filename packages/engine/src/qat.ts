import { codeRange } from './codes';
import { fakeQuantizeStep, gather, Graph, reshape, type Tensor } from './graph';
import { int64s } from './graph/ops/util';
import type { Model, ParamSpec } from './models/model';
import { numel, type TensorMap } from './tensor';

/**
 * Quantization-aware training (QAT): the model's forward sees some of its weights through a
 * fake quantizer (quantize then dequantize, straight-through gradient), so training adapts the
 * float weights to the grid the exported model will use.
 */

/**
 * How one [in, out] matrix weight is fake-quantized: symmetric codes in [-qmax, qmax]
 * (qmax = 2^(bits-1) - 1, the grid of symmetric RTN), one step per output channel or per block
 * of `blockSize` rows (input features) of each output channel.
 */
export interface FakeQuantScheme {
  bits: 4 | 8;
  granularity: 'per-channel' | 'block';
  blockSize?: number;
}

/** The weights to fake-quantize, by parameter name, and whether their steps are learned (LSQ). */
export interface FakeQuantPlan {
  weights: Record<string, FakeQuantScheme>;
  /**
   * false: each step is the min-max scale max|w| / qmax of the current weights, recomputed in
   * every forward and treated as a constant (what post-training RTN will compute, so training
   * sees the exported grid). true: each step is a trained parameter (LSQ).
   */
  lsq: boolean;
}

/** The parameter holding the learned steps of `weight` (LSQ); checkpointed like any parameter. */
export const stepSizeName = (weight: string): string => `qat.${weight}.step`;

/** Dims of a weight's steps: [out] per channel, [ceil(in / blockSize), out] per block. */
export function stepSizeDims(weight: string, dims: readonly number[], scheme: FakeQuantScheme): number[] {
  if (dims.length !== 2)
    throw new Error(`QAT: '${weight}' has dims [${dims.join(', ')}]; only [in, out] matrix weights can be fake-quantized`);
  if (scheme.granularity === 'per-channel') return [dims[1]];
  return [Math.ceil(dims[0] / blockSizeOf(weight, scheme)), dims[1]];
}

const qmaxOf = (bits: 4 | 8) => codeRange(bits, true).max;

function blockSizeOf(weight: string, scheme: FakeQuantScheme): number {
  const size = scheme.blockSize;
  if (size === undefined || !Number.isInteger(size) || size < 1)
    throw new Error(`QAT: '${weight}' uses block granularity and needs blockSize, a positive integer; got ${size}`);
  return size;
}

/** Weights that share one step: the rows of a channel, or of a block. */
function groupSize(weight: string, dims: readonly number[], scheme: FakeQuantScheme): number {
  return scheme.granularity === 'per-channel' ? dims[0] : Math.min(blockSizeOf(weight, scheme), dims[0]);
}

/**
 * The fake-quantized weight: clip(round(w / s), -qmax, qmax) * s, with s the learned step
 * (`step` given, LSQ gradient scale 1/sqrt(N * qmax)) or the min-max step of `w` (no gradient).
 */
export function fakeQuantizeWeight(name: string, w: Tensor, scheme: FakeQuantScheme, step?: Tensor): Tensor {
  const dims = w.dims as number[];
  const stepDims = stepSizeDims(name, dims, scheme);
  const qmax = qmaxOf(scheme.bits);
  const s = step ?? minMaxStep(w, scheme, stepDims, qmax);
  const perElement = scheme.granularity === 'per-channel' ? reshape(s, [1, dims[1]]) : gather(s, blockRows(name, dims, scheme), 0);
  const stepGradScale = step ? 1 / Math.sqrt(groupSize(name, dims, scheme) * qmax) : undefined;
  return fakeQuantizeStep(w, perElement, { qmin: -qmax, qmax, stepGradScale });
}

/** The block of each row: [0 x blockSize, 1 x blockSize, ...] (a gather index that spreads [blocks, out] to [in, out]). */
function blockRows(name: string, dims: readonly number[], scheme: FakeQuantScheme): number[] {
  const size = blockSizeOf(name, scheme);
  return Array.from({ length: dims[0] }, (_, r) => Math.floor(r / size));
}

/** max|w| / qmax per group (1 for an all-zero group, as RTN does), built from nodes without gradients. */
function minMaxStep(w: Tensor, scheme: FakeQuantScheme, stepDims: number[], qmax: number): Tensor {
  const g = w.graph;
  const [rows, cols] = w.dims as number[];
  let magnitude = g.node('Abs', [w], w);
  let axis = 0;
  if (scheme.granularity === 'block') {
    const blocks = stepDims[0];
    const size = blockSizeOf('weight', scheme);
    // Zero rows pad the last block: they cannot raise its maximum.
    if (blocks * size !== rows) {
      magnitude = g.node('Pad', [magnitude, int64s(g, [0, 0, blocks * size - rows, 0]), g.scalar(0, w.dtype)], {
        dims: [blocks * size, cols],
        dtype: w.dtype,
      });
    }
    magnitude = g.node('Reshape', [magnitude, int64s(g, [blocks, size, cols])], { dims: [blocks, size, cols], dtype: w.dtype });
    axis = 1;
  }
  const max = g.node('ReduceMax', [magnitude, int64s(g, [axis])], { dims: stepDims, dtype: w.dtype }, { keepdims: 0 });
  const zero = g.node('Equal', [max, g.scalar(0, w.dtype)], { dims: stepDims, dtype: 'bool' });
  return g.node('Where', [zero, g.scalar(1, w.dtype), g.node('Div', [max, g.scalar(qmax, w.dtype)], max)], max);
}

/**
 * The model as QAT trains it: the same parameters (plus the learned steps when `plan.lsq`), and a
 * forward that reads each planned weight through its fake quantizer. Evaluation and export keep
 * using the plain model: the fp32 result is the trained float weights, the quantized one their
 * quantization, which is what this forward computed.
 */
export function withFakeQuantization(model: Model, plan: FakeQuantPlan): Model {
  const planned = Object.entries(plan.weights);
  // Checked once, here: every planned weight is a parameter its scheme fits (stepSizeDims throws otherwise).
  const stepDims = planned.map(([name, scheme]) => {
    const spec = model.params.find((p) => p.name === name);
    if (!spec) throw new Error(`QAT: model '${model.name}' has no parameter '${name}'`);
    return stepSizeDims(name, spec.dims, scheme);
  });
  const stepSpecs: ParamSpec[] = plan.lsq
    ? planned.map(([name], i) => ({
        name: stepSizeName(name),
        dims: stepDims[i],
        init: 'ones', // placeholder: initialStepSizes sets them from the weights
      }))
    : [];
  return {
    ...model,
    name: `${model.name}.qat`,
    params: [...model.params, ...stepSpecs],
    paramsForHead: (head) => {
      const names = model.paramsForHead(head);
      return plan.lsq ? [...names, ...names.filter((n) => plan.weights[n]).map(stepSizeName)] : names;
    },
    forward: (g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode) => {
      const seen = { ...params };
      for (const [name, scheme] of planned) {
        if (!params[name]) continue; // another head's weight
        seen[name] = fakeQuantizeWeight(name, params[name], scheme, plan.lsq ? params[stepSizeName(name)] : undefined);
      }
      return model.forward(g, seen, x, head, mode);
    },
  };
}

/**
 * LSQ's initial steps (Esser et al. 2020): 2 * mean|w| / sqrt(qmax) over each group, for every
 * planned weight whose step is not in `params` yet (steps learned on an earlier task are kept).
 */
export function initialStepSizes(plan: FakeQuantPlan, params: TensorMap): TensorMap {
  const out: TensorMap = {};
  if (!plan.lsq) return out;
  for (const [name, scheme] of Object.entries(plan.weights)) {
    if (params[stepSizeName(name)]) continue;
    const w = params[name];
    if (!w) throw new Error(`QAT: parameter '${name}' is missing from the checkpoint`);
    const dims = stepSizeDims(name, w.dims, scheme);
    const [rows, cols] = w.dims;
    const sums = new Float64Array(numel(dims));
    const counts = new Float64Array(sums.length);
    const size = scheme.granularity === 'block' ? blockSizeOf(name, scheme) : rows;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const group = Math.floor(r / size) * cols + c;
        sums[group] += Math.abs(w.data[r * cols + c]);
        counts[group]++;
      }
    }
    const root = Math.sqrt(qmaxOf(scheme.bits));
    out[stepSizeName(name)] = { dims, data: Float32Array.from(sums, (s, i) => (s > 0 ? (2 * s) / counts[i] / root : 1)) };
  }
  return out;
}
