import { z } from 'zod';

/**
 * The `sweep:` section of a spec: which variants of the spec (the "base") to run, with which
 * seeds, and how many at once. Expanded into cells by `expandSweep` (sweep.ts); plain values, so
 * the spec schema can hold it without importing the expansion.
 */

/**
 * Cells a sweep may have. The sweep workflow carries each ended cell's status across
 * continue-as-new: at most about 250 bytes a cell (a result ref, or an error cut to 200
 * characters), so 5,000 cells stay near 1.3 MB, under Temporal's 2 MB payload limit.
 */
export const SWEEP_MAX_CELLS = 5_000;
/** Cells running at once when `sweep.parallel` is absent. */
export const DEFAULT_SWEEP_PARALLEL = 4;
/** Most cells running at once: each holds a child workflow and a pending result in the sweep's execution. */
export const SWEEP_MAX_PARALLEL = 500;
/**
 * The history length at which a sweep's execution continues as new (it first lets its running
 * cells finish). A cell costs the parent about 6 to 9 events, so this holds a few hundred cells.
 */
export const DEFAULT_SWEEP_CONTINUE_AS_NEW_AFTER_EVENTS = 2000;

/** A dotted path into the spec: `method`, `method.config.lambda`, `quantizers.0.config.bits`. */
export const SWEEP_PATH_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/;
const SWEEP_PATH_FORM = 'a dotted spec path such as method, method.config.lambda or quantizers.0.config.bits';

const seedSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/** One explicit variant: field path -> value, plus an optional `name` that labels its group. */
const variantSchema = z.record(z.string(), z.unknown()).superRefine((variant, ctx) => {
  for (const [key, value] of Object.entries(variant)) {
    if (key === 'name') {
      if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value))
        ctx.addIssue({ code: 'custom', path: [key], message: 'a variant name is letters, digits, ".", "_" or "-"' });
    } else if (!SWEEP_PATH_PATTERN.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is not ${SWEEP_PATH_FORM}` });
    } else if (key === 'sweep' || key.startsWith('sweep.')) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a variant cannot set the sweep section itself' });
    }
  }
});

export const sweepSchema = z
  .strictObject({
    /** Field path -> values: every combination (cartesian product) is a variant, keys varying in the order written (the last fastest). */
    grid: z
      .record(z.string().regex(SWEEP_PATH_PATTERN, `use ${SWEEP_PATH_FORM}`), z.array(z.unknown()).min(1, 'list at least one value'))
      .optional(),
    /** Explicit variants (override maps, each optionally with a `name`), crossed with the grid when both are given. */
    variants: z.array(variantSchema).min(1, 'list at least one variant, or leave variants out').optional(),
    /** Seeds every variant runs with; absent: the spec's `seed`. */
    seeds: z.array(seedSchema).min(1, 'list at least one seed, or leave seeds out to use the spec seed').optional(),
    /** Cells running at once. */
    parallel: z
      .number()
      .int()
      .min(1, 'at least 1')
      .max(SWEEP_MAX_PARALLEL, `at most ${SWEEP_MAX_PARALLEL}`)
      .default(DEFAULT_SWEEP_PARALLEL),
    /** The sweep's own history budget (see DEFAULT_SWEEP_CONTINUE_AS_NEW_AFTER_EVENTS); runs keep `execution.continueAsNewAfterEvents`. */
    continueAsNewAfterEvents: z
      .number()
      .int()
      .min(50, 'at least 50: starting a batch of cells takes tens of events')
      .max(10_000, "at most 10000: Temporal warns from 10,240 events in one execution's history")
      .optional(),
  })
  .refine((s) => s.grid !== undefined || s.variants !== undefined || s.seeds !== undefined, {
    message: 'a sweep needs a grid, variants or seeds (or leave the sweep section out to run one experiment)',
  });

export type SweepSection = z.output<typeof sweepSchema>;
