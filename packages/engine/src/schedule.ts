import { z } from 'zod';

/** Defaults of the optional schedule fields, shared by the schema and `learningRate`. */
const SCHEDULE_DEFAULTS = { warmupSteps: 0, gamma: 0.1, minLr: 0 } as const;

const warmupSteps = z.number().int().min(0).default(SCHEDULE_DEFAULTS.warmupSteps);

/**
 * Learning-rate schedules: their shape, declared once here (a trainer's config validates with
 * this schema), and `learningRate`, which reads it. The step graph reads the learning rate as an
 * input, so a schedule is only that function, evaluated per step: changing it never builds a new graph.
 * - constant: base
 * - step: base * gamma^floor(t / stepSize)
 * - cosine: minLr + (base - minLr) * (1 + cos(pi * t / T)) / 2, T = totalSteps - warmupSteps
 * With warmupSteps = W > 0, steps 0..W-1 ramp linearly: base * (s + 1) / W, and t = s - W counts
 * the steps after the warm-up.
 */
export const lrScheduleSchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('constant'), warmupSteps }),
  z.strictObject({
    name: z.literal('step'),
    stepSize: z.number().int().min(1),
    gamma: z.number().positive().default(SCHEDULE_DEFAULTS.gamma),
    warmupSteps,
  }),
  z.strictObject({
    name: z.literal('cosine'),
    minLr: z.number().min(0).default(SCHEDULE_DEFAULTS.minLr),
    warmupSteps,
  }),
]);

/** A schedule as written (defaults optional): the one declaration of its shape is `lrScheduleSchema`. */
export type LrSchedule = z.input<typeof lrScheduleSchema>;

/** The learning rate of step `step` (0-based) out of `totalSteps`. */
export function learningRate(schedule: LrSchedule, base: number, step: number, totalSteps: number): number {
  const warmup = schedule.warmupSteps ?? SCHEDULE_DEFAULTS.warmupSteps;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`schedule.warmupSteps must be an integer >= 0, got ${warmup}`);
  if (step < warmup) return (base * (step + 1)) / warmup;
  const t = step - warmup;
  switch (schedule.name) {
    case 'constant':
      return base;
    case 'step': {
      if (!Number.isInteger(schedule.stepSize) || schedule.stepSize < 1)
        throw new Error(`schedule.stepSize must be a positive integer, got ${schedule.stepSize}`);
      return base * (schedule.gamma ?? SCHEDULE_DEFAULTS.gamma) ** Math.floor(t / schedule.stepSize);
    }
    case 'cosine': {
      const span = Math.max(1, totalSteps - warmup);
      const minLr = schedule.minLr ?? SCHEDULE_DEFAULTS.minLr;
      return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * Math.min(t, span)) / span))) / 2;
    }
    default:
      throw new Error(`unknown schedule '${(schedule as { name: string }).name}'; use 'constant', 'step' or 'cosine'`);
  }
}
