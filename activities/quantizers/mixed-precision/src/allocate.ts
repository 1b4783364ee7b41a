import { quantizeValue, type GroupGrid, type TensorData } from '@retain/engine';

// Under jest (a vm context) global lookups in hot loops are slow; alias them once.
const { abs, fround, max } = Math;

/** One band of a weight: `rows` input rows x all output columns, quantized at one width. */
export interface Band {
  weight: string;
  /** Band index inside its weight (rows index * blockSize ...). */
  index: number;
  /** Weights in the band (rows x cols). */
  elements: number;
  /** Importance-weighted squared error sum_i I_i (w_i - q_b(w_i))^2 at each width of `choices`. */
  error: number[];
}

/** The symmetric min-max grid of a group at `width` bits: RTN's (engine `minMaxGrid`) at 4 and 8, codes in [-qmax, qmax]. */
export function symmetricGrid(absMax: number, width: number): GroupGrid {
  const qmax = 2 ** (width - 1) - 1;
  return { scale: absMax > 0 ? fround(absMax / qmax) : 1, zero: 0, min: -qmax, max: qmax };
}

/** The grids of the groups (one per output column) of band `k` of a [rows, cols] matrix at `width` bits. */
export function bandGrids(matrix: TensorData, blockSize: number, k: number, width: number): GroupGrid[] {
  const [rows, cols] = matrix.dims;
  const absMax = new Float64Array(cols);
  for (let r = k * blockSize; r < Math.min(rows, (k + 1) * blockSize); r++)
    for (let c = 0; c < cols; c++) absMax[c] = max(absMax[c], abs(matrix.data[r * cols + c]));
  return Array.from(absMax, (a) => symmetricGrid(a, width));
}

/** The bands of a [rows, cols] matrix, each with its importance-weighted error at every width of `choices`. */
export function bandsOf(name: string, matrix: TensorData, importance: Float32Array, blockSize: number, choices: readonly number[]): Band[] {
  const [rows, cols] = matrix.dims;
  const bands: Band[] = [];
  for (let k = 0; k * blockSize < rows; k++) {
    const end = Math.min(rows, (k + 1) * blockSize);
    const error = choices.map((width) => {
      const grids = bandGrids(matrix, blockSize, k, width);
      let sum = 0;
      for (let r = k * blockSize; r < end; r++)
        for (let c = 0; c < cols; c++) {
          const w = matrix.data[r * cols + c];
          const d = w - quantizeValue(w, grids[c]) * grids[c].scale;
          sum += importance[r * cols + c] * d * d;
        }
      return sum;
    });
    bands.push({ weight: name, index: k, elements: (end - k * blockSize) * cols, error });
  }
  return bands;
}

/**
 * Widths for `bands` whose codes take at most `budgetBytes` (width * elements / 8 per band),
 * minimizing the total importance-weighted error: every band starts at the narrowest choice, then
 * the upgrade that removes the most error per byte added and still fits is taken, one at a time,
 * until none with a positive gain fits. A band's upgrade may skip widths (to whichever wider
 * choice removes the most per byte: the step along the lower convex hull of its error curve).
 * Ties go to the earlier band, so the result is a function of the inputs alone. Returns the index
 * into `choices` per band, or throws when even the narrowest widths do not fit.
 */
export function allocate(bands: readonly Band[], choices: readonly number[], budgetBytes: number): Uint8Array {
  const bytesAt = (b: Band, c: number) => (choices[c] * b.elements) / 8;
  const chosen = new Uint8Array(bands.length);
  let spent = bands.reduce((s, b) => s + bytesAt(b, 0), 0);
  if (spent > budgetBytes)
    throw new Error(
      `budgetBits: the narrowest width (${choices[0]} bits) already takes ${Math.ceil(spent)} bytes of codes, over the budget of ${Math.floor(budgetBytes)}; raise budgetBits`,
    );
  for (;;) {
    let best = -1;
    let bestTo = 0;
    let bestRatio = 0;
    for (let i = 0; i < bands.length; i++) {
      const b = bands[i];
      const from = chosen[i];
      for (let to = from + 1; to < choices.length; to++) {
        const cost = bytesAt(b, to) - bytesAt(b, from);
        if (spent + cost > budgetBytes) break; // wider ones cost more still
        const ratio = (b.error[from] - b.error[to]) / cost;
        if (ratio > bestRatio) {
          best = i;
          bestTo = to;
          bestRatio = ratio;
        }
      }
    }
    if (best < 0) return chosen;
    spent += bytesAt(bands[best], bestTo) - bytesAt(bands[best], chosen[best]);
    chosen[best] = bestTo;
  }
}
