import { cast, type Graph, type Tensor } from '../graph';
import { dequantizedConstant } from '../export';
import { dequantize } from '../quant';
import type { QuantizedWeight } from '../quant/weight';
import type { Model } from './model';

/**
 * A frozen weight held as quantization codes: RTN, GPTQ or HQQ codes with their scales (a
 * QuantizedWeight), or indices into a table of levels scaled by each block's absmax (QLoRA's
 * NormalFloat4: `levels` has 16 entries, `codes` one index per element, row-major [in, out]).
 */
export type FrozenWeight = { kind: 'codes'; weight: QuantizedWeight } | LevelCodes;

export interface LevelCodes {
  kind: 'levels';
  dims: [number, number];
  levels: Float32Array;
  /** One index into `levels` per element (4 bits: 0..15). */
  codes: Uint8Array;
  /** Rows per block along the input axis; one absmax per block and column, [blocks, out]. */
  blockSize: number;
  absmax: Float32Array;
}

/**
 * The model with some of its weights frozen as codes (QLoRA's quantized base): those weights are
 * no longer params, nothing feeds or trains them; the graph holds their 4-bit codes as constants
 * and dequantizes them each time the forward reads them, as QLoRA's kernels do. The values it
 * reads are `frozenValues` of the same codes, bit for bit (ONNX DequantizeLinear, and a
 * level times its absmax, both one float32 product).
 */
export function withFrozenCodes(model: Model, frozen: Record<string, FrozenWeight>): Model {
  for (const [name, f] of Object.entries(frozen)) {
    const spec = model.params.find((p) => p.name === name);
    if (!spec) throw new Error(`withFrozenCodes: model '${model.name}' has no parameter '${name}'`);
    const dims = f.kind === 'codes' ? f.weight.dims : f.dims;
    if (spec.dims.length !== 2 || spec.dims[0] !== dims[0] || spec.dims[1] !== dims[1])
      throw new Error(`withFrozenCodes: '${name}' is [${spec.dims.join(', ')}], its codes are [${dims.join(', ')}]`);
  }
  const isFrozen = (name: string) => name in frozen;
  return {
    ...model,
    name: `${model.name}.frozen-codes`,
    params: model.params.filter((p) => !isFrozen(p.name)),
    paramsForHead: (head) => model.paramsForHead(head).filter((n) => !isFrozen(n)),
    forward: (g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode) => {
      const seen = { ...params };
      for (const name of model.paramsForHead(head)) if (isFrozen(name)) seen[name] = dequantizedFrozen(g, frozen[name]!);
      return model.forward(g, seen, x, head, mode);
    },
  };
}

/** The float32 weight the graph reads: DequantizeLinear of the codes, or level[code] * absmax of its block. */
function dequantizedFrozen(g: Graph, f: FrozenWeight): Tensor {
  if (f.kind === 'codes') return dequantizedConstant(g, f.weight);
  const [rows, cols] = f.dims;
  const blocks = Math.ceil(rows / f.blockSize);
  // The indices travel as uint4; DequantizeLinear (scale 1) turns them into 0..15 for the Gather.
  const index = cast(
    g.node('DequantizeLinear', [g.constant(f.codes, [rows, cols], 'uint4'), g.constant([1], [], 'float32')], {
      dims: [rows, cols],
      dtype: 'float32',
    }),
    'int64',
  );
  const levels = g.node(
    'Gather',
    [g.constant(f.levels, [f.levels.length], 'float32'), index],
    { dims: [rows, cols], dtype: 'float32' },
    { axis: 0 },
  );
  const blockOfRow = g.constant(
    BigInt64Array.from({ length: rows }, (_, r) => BigInt(Math.floor(r / f.blockSize))),
    [rows],
    'int64',
  );
  const absmax = g.node(
    'Gather',
    [g.constant(f.absmax, [blocks, cols], 'float32'), blockOfRow],
    { dims: [rows, cols], dtype: 'float32' },
    { axis: 0 },
  );
  return g.node('Mul', [levels, absmax], { dims: [rows, cols], dtype: 'float32' });
}

/** The float32 values a frozen weight's codes stand for: what the graph computes from them, bit for bit. */
export function frozenValues(f: FrozenWeight): Float32Array {
  if (f.kind === 'codes') return dequantize(f.weight);
  const [rows, cols] = f.dims;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const block = Math.floor(Math.floor(i / cols) / f.blockSize);
    out[i] = f.levels[f.codes[i]!]! * f.absmax[block * cols + (i % cols)]!;
  }
  return out;
}
