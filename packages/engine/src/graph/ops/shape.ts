import { withGrad, type Dim, type Tensor } from '../tensor';
import { fillLike, shapeOf } from './nondiff';
import { int64s, normAxis } from './util';
import { numel } from '../../tensor';

/** A fresh name for a size known only at run time (two unknowns must never look equal). */
let unknowns = 0;
const unknownDim = (op: string): string => `?${op}${unknowns++}`;

const isStatic = (dims: readonly Dim[]): dims is number[] => dims.every((d) => typeof d === 'number');

/** The shape of `like` as an int64 vector: a constant when static, Shape(like) otherwise. */
export function shapeInput(like: Tensor): Tensor {
  return isStatic(like.dims) ? int64s(like.graph, like.dims) : shapeOf(like);
}

/** Reshapes `x` to the (possibly symbolic) shape of `like`; used by gradients to undo reshapes. */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  const out = x.graph.node('Reshape', [x, shapeInput(like)], { dims: like.dims, dtype: x.dtype });
  return withGrad(out, [x], [(g) => reshapeLike(g, x)]);
}

/**
 * Reshape with ONNX rules: 0 copies the input dim at that index, -1 is inferred. When the input
 * has one symbolic dim (the batch) and the static sizes match, -1 resolves to that dim's name;
 * when the output's static sizes divide the input's k times, to '<name>*k'.
 */
export function reshape(x: Tensor, dims: number[]): Tensor {
  const target: Dim[] = dims.map((d, i) => (d === 0 ? x.dims[i] : d));
  const free = target.indexOf(-1);
  if (free >= 0) {
    const known = target.filter((d, i) => i !== free);
    const staticIn = numel(x.dims.filter((d): d is number => typeof d === 'number'));
    const symIn = x.dims.filter((d) => typeof d === 'string');
    const staticOut = numel(known.filter((d): d is number => typeof d === 'number'));
    const symOut = known.filter((d) => typeof d === 'string');
    if (symIn.length === symOut.length && symIn.every((s, i) => s === symOut[i])) target[free] = staticIn / staticOut;
    else if (symIn.length === 1 && symOut.length === 0 && staticIn === staticOut) target[free] = symIn[0];
    // [B, T, D] -> [-1, D] is [B*T, D]: a name of its own that every such reshape (and a causal
    // LM's labels, 'B*T' in the step graph) shares, so their shapes can be checked against each other.
    else if (symIn.length === 1 && symOut.length === 0 && staticIn % staticOut === 0) target[free] = `${symIn[0]}*${staticIn / staticOut}`;
    else target[free] = unknownDim('reshape');
    if (typeof target[free] === 'number' && !Number.isInteger(target[free])) {
      throw new Error(`reshape: cannot reshape ${x} to [${dims.join(', ')}]`);
    }
  }
  const out = x.graph.node('Reshape', [x, int64s(x.graph, dims)], { dims: target, dtype: x.dtype });
  return withGrad(out, [x], [(g) => reshapeLike(g, x)]);
}

/** Inserts size-1 axes at `axes` (positions in the output). */
export function unsqueeze(x: Tensor, axes: number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = axes.map((a) => normAxis('unsqueeze', a, rank));
  const dims: Dim[] = [];
  for (let i = 0, j = 0; i < rank; i++) dims.push(ax.includes(i) ? 1 : x.dims[j++]);
  const out = x.graph.node('Unsqueeze', [x, int64s(x.graph, ax)], { dims, dtype: x.dtype });
  return withGrad(out, [x], [(g) => reshapeLike(g, x)]);
}

export function transpose(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`transpose: perm [${perm.join(', ')}] is not a permutation of the ${x.rank} axes of ${x}`);
  }
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const out = x.graph.node('Transpose', [x], { dims: perm.map((p) => x.dims[p]), dtype: x.dtype }, { perm });
  return withGrad(out, [x], [(g) => transpose(g, inverse)]);
}

/** Concatenates along `axis`; the sizes along that axis must be static (gradients slice them apart). */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const a = normAxis('concat', axis, xs[0].rank);
  const sizes = xs.map((x) => x.dims[a]);
  if (!sizes.every((s): s is number => typeof s === 'number')) {
    throw new Error(`concat: axis ${axis} must have static sizes, got [${sizes.join(', ')}]`);
  }
  const dims = [...xs[0].dims];
  dims[a] = sizes.reduce((p, s) => p + s, 0);
  const out = xs[0].graph.node('Concat', xs, { dims, dtype: xs[0].dtype }, { axis: a });
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((p, s) => p + s, 0));
  return withGrad(
    out,
    xs,
    xs.map((_, i) => (g: Tensor) => slice(g, [offsets[i]], [offsets[i] + sizes[i]], [a])),
  );
}

/** x[starts:ends] along `axes` (default 0..n-1), step 1; negative indices count from the end. */
export function slice(x: Tensor, starts: number[], ends: number[], axes?: number[]): Tensor {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis('slice', a, x.rank));
  const dims = [...x.dims];
  const bounds = ax.map((a, i) => {
    const n = x.dims[a];
    if (typeof n !== 'number') return undefined;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const [s, e] = [clamp(starts[i]), clamp(ends[i])];
    dims[a] = Math.max(e - s, 0);
    return { s, e, n };
  });
  bounds.forEach((b, i) => b === undefined && (dims[ax[i]] = unknownDim('slice')));
  const g = x.graph;
  const out = g.node('Slice', [x, int64s(g, starts), int64s(g, ends), int64s(g, ax)], { dims, dtype: x.dtype });
  return withGrad(
    out,
    [x],
    [
      (gy) => {
        if (bounds.some((b) => b === undefined)) throw new Error(`slice: the gradient needs static sizes on sliced axes of ${x}`);
        const pads = [...bounds.map((b) => b!.s), ...bounds.map((b) => b!.n - b!.e)];
        return padZeros(gy, pads, ax, x);
      },
    ],
  );
}

function padZeros(gy: Tensor, pads: number[], axes: number[], like: Tensor): Tensor {
  const g = gy.graph;
  const out = g.node('Pad', [gy, int64s(g, pads), g.scalar(0, gy.dtype), int64s(g, axes)], { dims: like.dims, dtype: gy.dtype });
  return withGrad(
    out,
    [gy],
    [
      (gg) =>
        slice(
          gg,
          pads.slice(0, axes.length),
          axes.map((a, i) => (like.dims[a] as number) - pads[axes.length + i]),
          axes,
        ),
    ],
  );
}

/** x.take(indices, axis) with a 1-D int64 index vector (numbers become a constant). */
export function gather(x: Tensor, indices: Tensor | number[], axis = 0): Tensor {
  const g = x.graph;
  const idx = Array.isArray(indices) ? int64s(g, indices) : indices;
  if (idx.dtype !== 'int64' || idx.rank !== 1) throw new Error(`gather: indices must be a 1-D int64 tensor, got ${idx}`);
  const a = normAxis('gather', axis, x.rank);
  const dims = [...x.dims];
  dims[a] = idx.dims[0];
  const out = g.node('Gather', [x, idx], { dims, dtype: x.dtype }, { axis: a });
  return withGrad(
    out,
    [x],
    [
      (gy) => {
        // Scatter-add the gradient rows back to where they were gathered from (repeats accumulate).
        const shape = x.dims.map((_, i) => (i === a ? -1 : 1));
        const where = g.node('Expand', [reshape(idx, shape), shapeOf(gy)], { dims: gy.dims, dtype: 'int64' });
        return g.node('ScatterElements', [fillLike(x, 0), where, gy], x, { axis: a, reduction: 'add' });
      },
    ],
  );
}

/**
 * Constant padding: `pads` = [begin per axis..., end per axis...] for `axes` (default all axes),
 * non-negative. Gradient: the slice of the output gradient that covers x.
 */
export function pad(x: Tensor, pads: number[], axes?: number[], value = 0): Tensor {
  const ax = (axes ?? [...x.dims.keys()]).map((a) => normAxis('pad', a, x.rank));
  if (pads.length !== 2 * ax.length || pads.some((p) => !Number.isInteger(p) || p < 0))
    throw new Error(
      `pad: pads must be ${2 * ax.length} non-negative integers (begins then ends for axes [${ax.join(', ')}]), got [${pads.join(', ')}]`,
    );
  const g = x.graph;
  const dims = x.dims.map((d, i) => {
    const j = ax.indexOf(i);
    if (j < 0) return d;
    return typeof d === 'number' ? d + pads[j] + pads[ax.length + j] : unknownDim('pad');
  });
  const out = g.node('Pad', [x, int64s(g, pads), g.scalar(value, x.dtype), int64s(g, ax)], { dims, dtype: x.dtype });
  return withGrad(
    out,
    [x],
    [
      (gy) =>
        slice(
          gy,
          pads.slice(0, ax.length),
          ax.map((a, j) => (dims[a] as number) - pads[ax.length + j]),
          ax,
        ),
    ],
  );
}

/** Splits along `axis` into pieces of the given static sizes (each piece is a slice, with its gradient). */
export function split(x: Tensor, sizes: number[], axis: number): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  const total = sizes.reduce((p, s) => p + s, 0);
  if (x.dims[a] !== total) throw new Error(`split: sizes [${sizes.join(', ')}] add up to ${total}, axis ${axis} of ${x} has ${x.dims[a]}`);
  let start = 0;
  return sizes.map((s) => {
    const piece = slice(x, [start], [start + s], [a]);
    start += s;
    return piece;
  });
}
