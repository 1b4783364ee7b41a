/**
 * L[i][j] = mean next-token cross-entropy (nats; the log-perplexity) on task j's test set after
 * training through task i: the `perplexity.loss` matrix of the perplexity evaluator, laid out as an
 * accuracy matrix (row i after task i, null where not evaluated). Lower is better.
 */
export type LossMatrix = Array<Array<number | null>>;

/**
 * The continual-learning summary of a loss matrix (definitions in docs/architecture.md §6). Signs
 * follow the loss, not accuracy: positive bwt and forgetting mean the model forgot.
 */
export interface LossMetrics {
  /** Mean final loss, (1/T) Σ_j L[T-1][j]. */
  loss: number;
  /** exp(loss): the geometric mean of the per-task final perplexities. */
  perplexity: number;
  /** (1/(T-1)) Σ_{j<T-1} (L[T-1][j] − L[j][j]); null with one task. */
  bwt: number | null;
  /**
   * (1/(T-1)) Σ_{j>0} (L[j-1][j] − b[j]), b = the untrained model's loss per task; negative means
   * earlier tasks lowered task j's loss before it was trained. Null with one task or without b.
   */
  fwt: number | null;
  /** (1/(T-1)) Σ_{j<T-1} (L[T-1][j] − min_{j≤k≤T-2} L[k][j]); null with one task. */
  forgetting: number | null;
}

// As the accuracy metrics, each reads only the cells its definition names and throws, naming the
// metric and the cell, where one of those is null; forgetting's minimum runs over the evaluated
// cells of its range (L[j][j] always is), so on a sparse matrix it is a lower bound.

/** Mean final loss: (1/T) Σ_j L[T-1][j]. */
export function averageLoss(L: LossMatrix): number {
  validateLossMatrix(L);
  const T = L.length;
  return mean(range(T).map((j) => lossCell(L, T - 1, j, 'loss')));
}

/** exp of the mean final loss: the geometric mean of the per-task final perplexities. */
export function averagePerplexity(L: LossMatrix): number {
  return Math.exp(averageLoss(L));
}

/** BWT on loss: (1/(T-1)) Σ_{j<T-1} (L[T-1][j] − L[j][j]); positive means later tasks raised earlier tasks' loss. */
export function backwardTransferLoss(L: LossMatrix): number | null {
  validateLossMatrix(L);
  const T = L.length;
  if (T === 1) return null;
  return mean(range(T - 1).map((j) => lossCell(L, T - 1, j, 'BWT (loss)') - lossCell(L, j, j, 'BWT (loss)')));
}

/**
 * FWT on loss: (1/(T-1)) Σ_{j>0} (L[j-1][j] − b[j]), b[j] = the untrained model's loss on task j:
 * accuracy's FWT with L for R, so its sign is the loss's too (negative: earlier tasks helped).
 */
export function forwardTransferLoss(L: LossMatrix, initial: number[]): number | null {
  validateLossMatrix(L);
  const T = L.length;
  if (!Array.isArray(initial) || initial.length !== T)
    throw new Error(
      `initial losses must hold one value per task (${T}); got ${Array.isArray(initial) ? `${initial.length} values` : typeof initial}`,
    );
  initial.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`initial loss b[${j}] is ${String(v)}; losses must be finite numbers ≥ 0 (cross-entropy in nats)`);
  });
  if (T === 1) return null;
  return mean(range(T - 1).map((k) => lossCell(L, k, k + 1, 'FWT (loss)') - initial[k + 1]));
}

/**
 * Forgetting on loss: f_j = L[T-1][j] − min_{j≤k≤T-2} L[k][j], averaged over j < T-1: how far
 * task j's final loss rose above the lowest it reached once trained. Rows before j are left out
 * (the model had not seen task j; a pretrained model's loss there says nothing about forgetting).
 */
export function forgettingLoss(L: LossMatrix): number | null {
  validateLossMatrix(L);
  const T = L.length;
  if (T === 1) return null;
  return mean(
    range(T - 1).map((j) => {
      const seen = range(T - 1 - j)
        .map((d) => L[j + d][j])
        .filter((v): v is number => v !== null);
      // None evaluated means L[j][j] was not either: lossCell throws, naming it.
      if (seen.length === 0) lossCell(L, j, j, 'forgetting (loss)');
      return lossCell(L, T - 1, j, 'forgetting (loss)') - Math.min(...seen);
    }),
  );
}

/** The loss metrics of L; `initial` (the untrained model's loss per task) gives FWT, null without it. */
export function summarizeLoss(L: LossMatrix, initial?: number[]): LossMetrics {
  const loss = averageLoss(L);
  return {
    loss,
    perplexity: Math.exp(loss),
    bwt: backwardTransferLoss(L),
    fwt: initial ? forwardTransferLoss(L, initial) : null,
    forgetting: forgettingLoss(L),
  };
}

/** Throws unless L is a non-empty square matrix whose cells are null (not evaluated) or finite losses ≥ 0. */
export function validateLossMatrix(L: LossMatrix, what = 'loss matrix'): void {
  if (!Array.isArray(L) || L.length === 0)
    throw new Error(`${what} must be a non-empty T x T array of rows (L[i][j] = loss on task j after task i)`);
  const T = L.length;
  L.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== T)
      throw new Error(`${what} row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries; expected ${T} (one column per task)`);
    row.forEach((v, j) => {
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
        throw new Error(`${what} L[${i}][${j}] is ${String(v)}; losses must be finite numbers ≥ 0 (cross-entropy in nats)`);
    });
  });
}

function lossCell(L: LossMatrix, i: number, j: number, metric: string): number {
  const v = L[i][j];
  if (v === null)
    throw new Error(
      `${metric} needs L[${i}][${j}] (task ${j}'s loss after task ${i}), which was not evaluated; every evaluation policy evaluates task i after task i, and every task after the last`,
    );
  return v;
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
