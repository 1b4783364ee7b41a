import { withGrad, type Dim, type Tensor } from '../tensor';
import { fillLike } from './nondiff';
import { reduceSum } from './expand-sum';
import { reduceMean } from './reduce';
import { concat, reshapeLike, slice, transpose } from './shape';
import { int64s } from './util';

// 2-D convolution and pooling over NCHW images. Spatial sizes and channel counts must be static
// (the batch may be symbolic): the backward rules need them to size ConvTranspose outputs.
// onnxruntime has float32 kernels only for Conv, ConvTranspose and the pools.

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

interface Window {
  kernel: [number, number];
  stride: number;
  padding: number;
  dilation: number;
}

function staticDim(op: string, x: Tensor, axis: number, what: string): number {
  const d = x.dims[axis];
  if (typeof d !== 'number') throw new Error(`${op}: the ${what} of ${x} must be static, got '${d}'`);
  return d;
}

function checkImage(op: string, x: Tensor): [Dim, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: input must be NCHW [N, C, H, W], got ${x}`);
  return [x.dims[0], staticDim(op, x, 1, 'channel count'), staticDim(op, x, 2, 'height'), staticDim(op, x, 3, 'width')];
}

function checkPositive(op: string, values: Record<string, number>, min = 1): void {
  for (const [k, v] of Object.entries(values))
    if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${k} must be an integer >= ${min}, got ${v}`);
}

/** Output size of one spatial axis (floor mode, as PyTorch and ONNX by default). */
function outSize(op: string, n: number, k: number, w: Window): number {
  const out = Math.floor((n + 2 * w.padding - w.dilation * (k - 1) - 1) / w.stride) + 1;
  if (out < 1) throw new Error(`${op}: a ${k}-wide window (dilation ${w.dilation}) does not fit a size-${n} axis padded by ${w.padding}`);
  return out;
}

/** Extra rows ConvTranspose must add so that it gives back exactly `n` (the rows floor mode dropped). */
function outputPadding(n: number, out: number, k: number, w: Window): number {
  return n - ((out - 1) * w.stride - 2 * w.padding + w.dilation * (k - 1) + 1);
}

function windowAttrs(w: Window) {
  return { strides: [w.stride, w.stride], pads: Array(4).fill(w.padding), dilations: [w.dilation, w.dilation] };
}

/** Sends a gradient [N, C_out, Ho, Wo] back through a window op whose kernel is `weight` [C_out, C_in/groups, kh, kw]. */
function transposedConv(gy: Tensor, weight: Tensor, like: Tensor, w: Window, groups: number): Tensor {
  const [, , h, wd] = like.dims as [Dim, number, number, number];
  const [ho, wo] = gy.dims.slice(2) as number[];
  return gy.graph.node('ConvTranspose', [gy, weight], like, {
    ...windowAttrs(w),
    kernel_shape: w.kernel,
    group: groups,
    output_padding: [outputPadding(h, ho, w.kernel[0], w), outputPadding(wd, wo, w.kernel[1], w)],
  });
}

/** Channels [gi * C/groups, (gi + 1) * C/groups) of an NCHW tensor (the tensor itself when groups = 1). */
function groupSlice(t: Tensor, gi: number, groups: number): Tensor {
  if (groups === 1) return t;
  const size = (t.dims[1] as number) / groups;
  return slice(t, [gi * size], [(gi + 1) * size], [1]);
}

/** One tensor per group, concatenated along `axis` (no Concat node for one group). */
function perGroup(groups: number, build: (gi: number) => Tensor, axis: number): Tensor {
  const parts = Array.from({ length: groups }, (_, i) => build(i));
  return groups === 1 ? parts[0] : concat(parts, axis);
}

/**
 * The weight gradient of a window op, [C_small, C_big, kh, kw]: for each kernel tap j,
 * sum over the batch and positions i of small[n, c, i] * big[n, c', i * stride + j * dilation - padding],
 * where `big` is the side the window slides over (Conv's input, ConvTranspose's output gradient)
 * and `small` the other (Conv's output gradient, ConvTranspose's input). That is one Conv with
 * batch and channels swapped (the images' channels become the batch, the batch the channels) in
 * which stride and dilation swap roles. Its output can be a little larger than the kernel where
 * floor mode dropped rows or outputPadding added some; the slice keeps the kernel's taps.
 */
function kernelCorrelation(big: Tensor, small: Tensor, w: Window): Tensor {
  const [bh, bw] = big.dims.slice(2) as number[];
  const [sh, sw] = small.dims.slice(2) as number[];
  const taps = (n: number, out: number) => Math.floor((n + 2 * w.padding - w.stride * (out - 1) - 1) / w.dilation) + 1;
  const corr = big.graph.node(
    'Conv',
    [transpose(big, [1, 0, 2, 3]), transpose(small, [1, 0, 2, 3])],
    { dims: [big.dims[1], small.dims[1], taps(bh, sh), taps(bw, sw)], dtype: big.dtype },
    { strides: [w.dilation, w.dilation], dilations: [w.stride, w.stride], pads: Array(4).fill(w.padding) },
  );
  const [kh, kw] = w.kernel;
  return transpose(slice(corr, [0, 0], [kh, kw], [2, 3]), [1, 0, 2, 3]);
}

/**
 * Conv2d as PyTorch's: x [N, C_in, H, W], weight [C_out, C_in/groups, kh, kw], bias [C_out];
 * square stride, zero padding and dilation. Gradients: x gets the transposed convolution of the
 * output gradient; the weight gets the correlation of x with it (stride and dilation swap roles),
 * one group at a time.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  checkPositive(op, { stride, dilation, groups });
  checkPositive(op, { padding }, 0);
  const [n, cIn, h, wd] = checkImage(op, x);
  if (weight.rank !== 4) throw new Error(`${op}: weight must be [C_out, C_in/groups, kh, kw], got ${weight}`);
  const [cOut, cPerGroup, kh, kw] = weight.dims.map((_, i) => staticDim(op, weight, i, `weight axis ${i}`));
  if (cIn % groups !== 0 || cOut % groups !== 0 || cPerGroup !== cIn / groups)
    throw new Error(
      `${op}: with groups=${groups}, x ${x} and weight ${weight} need C_in and C_out divisible by groups and weight axis 1 = C_in/groups`,
    );
  if (bias && (bias.rank !== 1 || bias.dims[0] !== cOut)) throw new Error(`${op}: bias must be [${cOut}], got ${bias}`);
  if (x.dtype !== weight.dtype) throw new Error(`${op}: x ${x} and weight ${weight} dtypes differ`);
  const win: Window = { kernel: [kh, kw], stride, padding, dilation };
  const dims = [n, cOut, outSize(op, h, kh, win), outSize(op, wd, kw, win)];
  const g = x.graph;
  const out = g.node(
    'Conv',
    bias ? [x, weight, bias] : [x, weight],
    { dims, dtype: x.dtype },
    {
      ...windowAttrs(win),
      kernel_shape: [kh, kw],
      group: groups,
    },
  );
  // Per group, the weight gradient correlates the input with the output gradient.
  const weightGrad = (gy: Tensor) =>
    perGroup(groups, (gi) => kernelCorrelation(groupSlice(x, gi, groups), groupSlice(gy, gi, groups), win), 0);
  return withGrad(out, bias ? [x, weight, bias] : [x, weight], [
    (gy) => transposedConv(gy, weight, x, win, groups),
    weightGrad,
    (gy) => reduceSum(gy, [0, 2, 3]),
  ]);
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows and columns at the bottom and right of the output (below the stride). */
  outputPadding?: number;
}

/**
 * ConvTranspose2d as PyTorch's: x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw], bias
 * [C_out]; output H_out = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + outputPadding + 1.
 * It is the adjoint of conv2d with the same weight, so its gradients are conv2d's read backwards:
 * x gets the plain convolution of the output gradient with the weight (same stride, padding,
 * dilation and groups); the weight gets the correlation of the output gradient with x (`kernelCorrelation` with the roles of
 * input and output gradient swapped relative to conv2d), one group at a time.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const { stride = 1, padding = 0, dilation = 1, groups = 1, outputPadding = 0 } = opts;
  checkPositive(op, { stride, dilation, groups });
  checkPositive(op, { padding, outputPadding }, 0);
  // PyTorch allows outputPadding up to the dilation; onnxruntime's kernel refuses it at or above the stride.
  if (outputPadding >= stride) throw new Error(`${op}: outputPadding ${outputPadding} must be smaller than the stride ${stride}`);
  const [n, cIn, h, wd] = checkImage(op, x);
  if (weight.rank !== 4) throw new Error(`${op}: weight must be [C_in, C_out/groups, kh, kw], got ${weight}`);
  const [wIn, cOutPerGroup, kh, kw] = weight.dims.map((_, i) => staticDim(op, weight, i, `weight axis ${i}`));
  if (wIn !== cIn || cIn % groups !== 0)
    throw new Error(`${op}: with groups=${groups}, x ${x} and weight ${weight} need weight axis 0 = C_in, divisible by groups`);
  const cOut = cOutPerGroup * groups;
  if (bias && (bias.rank !== 1 || bias.dims[0] !== cOut)) throw new Error(`${op}: bias must be [${cOut}], got ${bias}`);
  if (x.dtype !== weight.dtype) throw new Error(`${op}: x ${x} and weight ${weight} dtypes differ`);
  const win: Window = { kernel: [kh, kw], stride, padding, dilation };
  const size = (inSize: number, k: number) => {
    const out = (inSize - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1;
    if (out < 1) throw new Error(`${op}: padding ${padding} leaves no output for a size-${inSize} axis and a ${k}-wide kernel`);
    return out;
  };
  const dims = [n, cOut, size(h, kh), size(wd, kw)];
  const out = x.graph.node(
    'ConvTranspose',
    bias ? [x, weight, bias] : [x, weight],
    { dims, dtype: x.dtype },
    {
      ...windowAttrs(win),
      kernel_shape: [kh, kw],
      group: groups,
      output_padding: [outputPadding, outputPadding],
    },
  );
  // The Conv of the output gradient has exactly x's size: outputPadding < stride adds no output row.
  const inputGrad = (gy: Tensor) =>
    gy.graph.node('Conv', [gy, weight], { dims: x.dims, dtype: x.dtype }, { ...windowAttrs(win), kernel_shape: [kh, kw], group: groups });
  const weightGrad = (gy: Tensor) =>
    perGroup(groups, (gi) => kernelCorrelation(groupSlice(gy, gi, groups), groupSlice(x, gi, groups), win), 0);
  return withGrad(out, bias ? [x, weight, bias] : [x, weight], [inputGrad, weightGrad, (gy) => reduceSum(gy, [0, 2, 3])]);
}

export interface Pool2dOptions {
  stride?: number; // default: the kernel size
  padding?: number;
}

function poolWindow(op: string, x: Tensor, kernel: number, opts: Pool2dOptions): Window {
  const { stride = kernel, padding = 0 } = opts;
  checkPositive(op, { kernel, stride });
  checkPositive(op, { padding }, 0);
  if (padding * 2 > kernel) throw new Error(`${op}: padding ${padding} must be at most half the kernel ${kernel}`);
  checkImage(op, x);
  return { kernel: [kernel, kernel], stride, padding, dilation: 1 };
}

function pooledDims(op: string, x: Tensor, w: Window): Dim[] {
  const [n, c, h, wd] = checkImage(op, x);
  return [n, c, outSize(op, h, w.kernel[0], w), outSize(op, wd, w.kernel[1], w)];
}

/**
 * Max pooling over k x k windows. Gradient: each output's gradient goes to the input element that
 * won its window (MaxPool's indices), added up where windows overlap.
 */
export function maxPool2d(x: Tensor, kernel: number, opts: Pool2dOptions = {}): Tensor {
  const win = poolWindow('maxPool2d', x, kernel, opts);
  const dims = pooledDims('maxPool2d', x, win);
  const g = x.graph;
  const { strides, pads } = windowAttrs(win);
  const [out, indices] = g.nodeOutputs(
    'MaxPool',
    [x],
    [
      { dims, dtype: x.dtype },
      { dims, dtype: 'int64' },
    ],
    { kernel_shape: win.kernel, strides, pads },
  );
  const flat = (t: Tensor) => g.node('Reshape', [t, int64s(g, [-1])], { dims: ['?flat'], dtype: t.dtype });
  return withGrad(
    out,
    [x],
    [
      // MaxPool's indices count over the whole NCHW tensor, so one flat scatter serves every image and channel
      (gy) =>
        reshapeLike(
          g.node(
            'ScatterElements',
            [flat(fillLike(x, 0)), flat(indices), flat(gy)],
            { dims: ['?flat'], dtype: x.dtype },
            { axis: 0, reduction: 'add' },
          ),
          x,
        ),
    ],
  );
}

/**
 * Average pooling over k x k windows; zero padding counts in the average (PyTorch's default,
 * count_include_pad), so the gradient is one transposed convolution with a constant 1/k^2 kernel.
 */
export function avgPool2d(x: Tensor, kernel: number, opts: Pool2dOptions = {}): Tensor {
  const win = poolWindow('avgPool2d', x, kernel, opts);
  const dims = pooledDims('avgPool2d', x, win);
  const { strides, pads } = windowAttrs(win);
  const g = x.graph;
  const out = g.node('AveragePool', [x], { dims, dtype: x.dtype }, { kernel_shape: win.kernel, strides, pads, count_include_pad: 1 });
  const channels = x.dims[1] as number;
  const share = new Float32Array(channels * kernel * kernel).fill(1 / (kernel * kernel));
  return withGrad(out, [x], [(gy) => transposedConv(gy, g.constant(share, [channels, 1, kernel, kernel], x.dtype), x, win, channels)]);
}

/** Mean over the spatial axes: [N, C, H, W] -> [N, C] (ReduceMean, so float64 works too). */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`globalAvgPool: input must be NCHW [N, C, H, W], got ${x}`);
  return reduceMean(x, [2, 3]);
}
