/**
 * Learning-rate schedules. The step graph reads the learning rate as an input, so a schedule is
 * only this function, evaluated per step: changing it never builds a new graph.
 * - constant: base
 * - step: base * gamma^floor(t / stepSize)
 * - cosine: minLr + (base - minLr) * (1 + cos(pi * t / T)) / 2, T = totalSteps - warmupSteps
 * With warmupSteps = W > 0, steps 0..W-1 ramp linearly: base * (s + 1) / W, and t = s - W counts
 * the steps after the warm-up.
 */
export type LrSchedule =
  | { name: 'constant'; warmupSteps?: number }
  | { name: 'step'; stepSize: number; gamma?: number; warmupSteps?: number }
  | { name: 'cosine'; minLr?: number; warmupSteps?: number };

/** The learning rate of step `step` (0-based) out of `totalSteps`. */
export function learningRate(schedule: LrSchedule, base: number, step: number, totalSteps: number): number {
  const warmup = schedule.warmupSteps ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`schedule.warmupSteps must be an integer >= 0, got ${warmup}`);
  if (step < warmup) return (base * (step + 1)) / warmup;
  const t = step - warmup;
  switch (schedule.name) {
    case 'constant':
      return base;
    case 'step': {
      if (!Number.isInteger(schedule.stepSize) || schedule.stepSize < 1)
        throw new Error(`schedule.stepSize must be a positive integer, got ${schedule.stepSize}`);
      return base * (schedule.gamma ?? 0.1) ** Math.floor(t / schedule.stepSize);
    }
    case 'cosine': {
      const span = Math.max(1, totalSteps - warmup);
      const minLr = schedule.minLr ?? 0;
      return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * Math.min(t, span)) / span))) / 2;
    }
    default:
      throw new Error(`unknown schedule '${(schedule as { name: string }).name}'; use 'constant', 'step' or 'cosine'`);
  }
}
