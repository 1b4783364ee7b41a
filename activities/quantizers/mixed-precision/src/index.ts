import { definePlugin, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import {
  buildInferenceModel,
  isQuantizable,
  matrixView,
  quantizeRtn,
  quantizeValue,
  quantizeWeight,
  type QuantizedWeight,
  type TensorData,
  type TensorMap,
} from '@retain/engine';
import { allocate, bandGrids, bandsOf, type Band } from './allocate';
import { mixedPrecisionConfigSchema, type MixedPrecisionConfig } from './config';
import { importanceOf } from './importance';

export { mixedPrecisionConfigSchema, type MixedPrecisionConfig } from './config';
export { allocate, bandsOf, symmetricGrid, type Band } from './allocate';
export { importanceOf } from './importance';

/** What `quantizeMixed` decided, beside the weights: for tests and the README's numbers. */
export interface MixedPrecisionPlan {
  weights: Record<string, QuantizedWeight>;
  /** Width in bits per band, by weight. */
  widths: Record<string, number[]>;
  /** The ONNX model's bytes (head 0, as results.json counts them) and the budget it had to fit. */
  bytes: number;
  budgetBytes: number;
  importance: 'fisher' | 'proxy';
}

/**
 * Forgetting-aware mixed precision: per band of `blockSize` input rows of every weight, a width
 * from `choices`, chosen so that the model's ONNX bytes stay within RTN block-wise's at
 * `budgetBits` and the importance-weighted squared error is least (see `allocate`).
 */
export const mixedPrecisionQuantizer = definePlugin({
  kind: 'quantizer',
  name: 'mixed-precision',
  version: '0.1.0',
  description:
    "Bits per block (2/3/4/8) where forgetting would cost most: a byte budget (default int4's) spent by the importance the run accumulated over every task (the method's Fisher, or a mean-squared-gradient proxy).",
  configSchema: mixedPrecisionConfigSchema,
  label: (config: MixedPrecisionConfig) =>
    `mixed-precision-b${config.budgetBits}${config.blockSize === 32 ? '' : `-block${config.blockSize}`}`,
  quantize: async (ctx: QuantizeContext<MixedPrecisionConfig>): Promise<QuantizeOutcome> => ({
    weights: (await quantizeMixed(ctx)).weights,
    export: { format: 'qdq' },
  }),
});

/** Rounds of allocate, export, measure: each lowers the codes' budget by what the model went over. */
const MAX_ROUNDS = 8;

export async function quantizeMixed(ctx: QuantizeContext<MixedPrecisionConfig>): Promise<MixedPrecisionPlan> {
  const { choices, blockSize, budgetBits } = ctx.config;
  const names = ctx.model.params.filter((p) => isQuantizable(p.dims)).map((p) => p.name);
  if (!names.length) throw new Error('mixed-precision: the model has no matrix or conv weight to quantize');
  const matrices = Object.fromEntries(names.map((n) => [n, matrixView(n, ctx.params[n])]));
  const { source, tensors } = await importanceOf(ctx);
  const bands = bandsWithImportance(matrices, tensors, blockSize, choices);
  // The budget, counted as results.json counts every quantizer's bytes (the head-0 ONNX model):
  // RTN int4 block-wise's model, plus or minus (budgetBits - 4) bits a weight.
  const rtnInt4 = Object.fromEntries(
    await Promise.all(
      names.map(
        async (n) =>
          [
            n,
            await quantizeWeight(n, ctx.params[n], (m) => quantizeRtn(m, { bits: 4, granularity: 'block', blockSize, symmetric: true })),
          ] as const,
      ),
    ),
  );
  const weightCount = names.reduce((s, n) => s + ctx.params[n].data.length, 0);
  const budgetBytes = buildInferenceModel(ctx.model, 0, ctx.params, rtnInt4).byteLength + Math.floor(((budgetBits - 4) * weightCount) / 8);
  let codeBudget = (budgetBits * weightCount) / 8;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const chosen = allocate(bands, choices, codeBudget);
    const widths: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    let codeBytes = 0;
    bands.forEach((b, i) => {
      widths[b.weight][b.index] = choices[chosen[i]];
      codeBytes += (choices[chosen[i]] * b.elements) / 8;
    });
    const weights: Record<string, QuantizedWeight> = {};
    for (const n of names) weights[n] = await quantizeWeight(n, ctx.params[n], (m) => quantizeBands(m, blockSize, widths[n]));
    const bytes = buildInferenceModel(ctx.model, 0, ctx.params, weights).byteLength;
    if (bytes <= budgetBytes) return { weights, widths, bytes, budgetBytes, importance: source };
    // Over: the graph that unpacks bit planes (and the planes' padding) costs bytes too. What the
    // model takes besides the codes, measured, comes off the codes' budget (and at least a byte a round).
    codeBudget = Math.min(codeBudget - 1, budgetBytes - (bytes - codeBytes));
  }
  throw new Error(
    `budgetBits: ${budgetBits} bits a weight (${budgetBytes} model bytes) could not be met in ${MAX_ROUNDS} rounds; raise budgetBits`,
  );
}

/** Every weight's bands; the importance gets a floor (1e-6 of its mean) so that bands it does not weigh at all still rank by plain error. */
function bandsWithImportance(matrices: Record<string, TensorData>, importance: TensorMap, blockSize: number, choices: number[]): Band[] {
  const views = Object.fromEntries(
    Object.keys(matrices).map((n) => [n, importance[n] ? matrixView(n, importance[n]).data : new Float32Array(matrices[n].data.length)]),
  );
  let total = 0;
  let count = 0;
  for (const v of Object.values(views)) {
    for (const x of v) total += x;
    count += v.length;
  }
  const floor = total > 0 ? (1e-6 * total) / count : 1;
  return Object.keys(matrices).flatMap((n) =>
    bandsOf(
      n,
      matrices[n],
      Float32Array.from(views[n], (x) => x + floor),
      blockSize,
      choices,
    ),
  );
}

/**
 * Codes of a [rows, cols] matrix, band k at `widths[k]` bits (symmetric min-max grid per block).
 * One width throughout, 4 or 8, is plain RTN block-wise (the same codes, int4/int8 in the model);
 * otherwise int8 codes inside each band's range and `blockBits` (exported as bit planes).
 */
export function quantizeBands(matrix: TensorData, blockSize: number, widths: number[]): QuantizedWeight {
  const [rows, cols] = matrix.dims;
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(widths.length * cols);
  widths.forEach((width, k) => {
    const grids = bandGrids(matrix, blockSize, k, width);
    grids.forEach((g, c) => (scale[k * cols + c] = g.scale));
    for (let r = k * blockSize; r < Math.min(rows, (k + 1) * blockSize); r++)
      for (let c = 0; c < cols; c++) {
        q[r * cols + c] = quantizeValue(matrix.data[r * cols + c], grids[c]); // RTN's rounding
      }
  });
  const uniform = widths.every((w) => w === widths[0]) && (widths[0] === 4 || widths[0] === 8);
  return uniform
    ? { bits: widths[0] as 4 | 8, dims: [rows, cols], granularity: 'block', blockSize, q, scale }
    : { bits: 8, dims: [rows, cols], granularity: 'block', blockSize, q, scale, blockBits: Uint8Array.from(widths) };
}
