/**
 * R[i][j] = accuracy on task j after training through task i (T x T; definitions in docs/architecture.md §6).
 * Row i is the evaluation after task i; column j is the task evaluated. A cell is null where the
 * run's evaluation policy did not evaluate task j after task i (spec `evaluation.tasks`).
 */
export type AccuracyMatrix = Array<Array<number | null>>;

/** Throws unless R is a non-empty square matrix whose cells are null (not evaluated) or finite accuracies in [0, 1]. */
export function validateMatrix(R: AccuracyMatrix, what = 'accuracy matrix'): void {
  if (!Array.isArray(R) || R.length === 0) {
    throw new Error(`${what} must be a non-empty T x T array of rows (R[i][j] = accuracy on task j after task i); got ${describe(R)}`);
  }
  const T = R.length;
  R.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== T) {
      throw new Error(
        `${what} row ${i} has ${Array.isArray(row) ? row.length : describe(row)} entries; expected ${T} (the matrix must be square, one column per task)`,
      );
    }
    row.forEach((v, j) => {
      if (v !== null) validateAccuracy(v, `${what} R[${i}][${j}]`);
    });
  });
}

/**
 * R[i][j] for a metric that needs it: throws, naming the metric and the cell, where it was not
 * evaluated. Every evaluation policy evaluates the cells ACC, BWT and FWT read, so this fails
 * only on a matrix from elsewhere.
 */
export function evaluatedCell(R: AccuracyMatrix, i: number, j: number, metric: string): number {
  const v = R[i][j];
  if (v === null)
    throw new Error(
      `${metric} needs R[${i}][${j}] (task ${j} after task ${i}), which was not evaluated; every evaluation policy evaluates task i and task i+1 after task i, and every task after the last`,
    );
  return v;
}

/** Throws unless `initial` holds one accuracy in [0, 1] per task. */
export function validateInitial(initial: number[], T: number): void {
  if (!Array.isArray(initial) || initial.length !== T) {
    throw new Error(
      `initial accuracies must hold one value per task (${T}); got ${Array.isArray(initial) ? `${initial.length} values` : describe(initial)}`,
    );
  }
  initial.forEach((v, j) => validateAccuracy(v, `initial accuracy b[${j}]`));
}

function validateAccuracy(v: unknown, where: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new Error(`${where} is ${describe(v)}; accuracies must be finite numbers in [0, 1] (a fraction, not a percentage)`);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'number') return String(v);
  return v === null ? 'null' : typeof v;
}
