// Mean and spread of one metric over the seeds of a sweep's cell: what every sweep table, report
// and comparison prints as "mean ± std".

/** One metric over n runs (seeds); null values (a metric a run could not define) are left out. */
export interface SeedStat {
  mean: number | null;
  /** Sample standard deviation (n - 1); 0 with one value, null with none. */
  std: number | null;
  /** How many runs had a value. */
  n: number;
  /** Every run's value, in the order given (null kept), so nothing is lost to the summary. */
  values: Array<number | null>;
}

export function statOverSeeds(values: Array<number | null | undefined>): SeedStat {
  const kept = values.map((v) => (v === undefined || v === null || !Number.isFinite(v) ? null : v));
  const xs = kept.filter((v): v is number => v !== null);
  if (xs.length === 0) return { mean: null, std: null, n: 0, values: kept };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length, values: kept };
}
