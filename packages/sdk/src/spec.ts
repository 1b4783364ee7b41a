import { z } from 'zod';
import { evaluationSchema } from './evaluation';
import { sweepSchema } from './sweep-schema';

/**
 * The experiment spec: what a user writes in YAML. Plugin configs are validated in a second pass
 * against each plugin's own schema (see registry.ts), so this schema stays plugin-agnostic.
 */

const pluginName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'plugin names are lower-case words joined by "-"');

/** `{ name, config }`, or just the name when the defaults are fine: `method: naive`. */
export const pluginRefSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject({
    name: pluginName,
    config: z.record(z.string(), z.unknown()).default({}),
  }),
);

export const quantizerRefSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject({
    /** Key of this quantizer's matrices in the results; defaults to what the plugin calls it. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'ids are letters, digits, ".", "_" or "-"')
      .optional(),
    name: pluginName,
    config: z.record(z.string(), z.unknown()).default({}),
  }),
);

/**
 * The largest spec, as JSON, validation lets through: the spec rides in the run's Temporal
 * payloads (its input, the state carried across continue-as-new), which the server caps at 2 MB
 * by default (its blob size limit); the other half is left to the run's state.
 */
export const MAX_SPEC_BYTES = 1_000_000;

/** The longest spec `name`: see `name` below. */
export const SPEC_NAME_MAX_LENGTH = 100;

export const experimentSpecSchema = z.strictObject({
  /**
   * Names the run in `retain ls` and in result folders. At most 100 characters: the generated run
   * id (`<name>-<time>-<random>`, a folder name) must stay well under file systems' 255.
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, ".", "_" or "-"')
    .max(SPEC_NAME_MAX_LENGTH, `at most ${SPEC_NAME_MAX_LENGTH} characters (it starts the run id and names the result folder)`),
  description: z.string().optional(),
  /** Every random choice (init, task transforms, data order) derives from this seed. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  benchmark: pluginRefSchema,
  model: pluginRefSchema,
  trainer: pluginRefSchema,
  method: pluginRefSchema.default({ name: 'naive', config: {} }),
  quantizers: z.array(quantizerRefSchema).default([]),
  evaluators: z.array(pluginRefSchema).default([{ name: 'accuracy', config: {} }]),
  /**
   * Quantization-aware training: the training forward reads the weights through the fake
   * quantizer of one of `quantizers` (by id), with straight-through gradients; `lsq` learns
   * the quantization steps too (Esser et al. 2020) and that quantizer exports with them.
   */
  qat: z
    .strictObject({
      quantizer: z.string().min(1),
      lsq: z.boolean().default(false),
    })
    .optional(),
  execution: z
    .strictObject({
      /** Temporal task queue of this run's workflow, and of its activities unless `queues` routes them. */
      taskQueue: z.string().min(1).default('retain'),
      /**
       * Task queues by kind of work, so GPU machines train while CPU machines quantize and evaluate:
       * `train` takes trainTask, `finish` takes startRun, finishTask and finishRun. Each absent one
       * is `taskQueue`. Optional and never filled in, so a spec without it validates (and stores in
       * results.json) exactly as before; `specQueues` (workflows/src/policies.ts) resolves it.
       */
      queues: z
        .strictObject({
          train: z.string().min(1, 'a task queue name (e.g. gpu); leave it out to use execution.taskQueue').optional(),
          finish: z.string().min(1, 'a task queue name (e.g. cpu); leave it out to use execution.taskQueue').optional(),
        })
        .optional(),
      /**
       * Temporal's priority key of the run's workflow and of every activity it starts: 1 goes
       * first, 5 last, when tasks wait for workers on a shared queue (an urgent run overtakes a
       * long sweep's queued tasks). Optional and never filled in: absent, nothing is sent and
       * Temporal uses its default (3), exactly as before; `runPriority` (workflows/src/policies.ts)
       * turns it into Temporal's option.
       */
      priority: z
        .number()
        .int('a whole number from 1 (soonest) to 5 (latest)')
        .min(1, 'at least 1 (the most urgent)')
        .max(5, "at most 5: Temporal's default number of priority levels")
        .optional(),
      /**
       * How long an activity may go without a heartbeat before Temporal retries it elsewhere: the
       * time a killed worker's task waits before it runs again. Workers send a heartbeat every
       * second; below 3 s a busy worker (an event loop stalled for 2 s) would look dead. Absent:
       * DEFAULT_HEARTBEAT_TIMEOUT_SECONDS (4 s).
       */
      heartbeatTimeoutSeconds: z
        .number()
        .min(3, 'at least 3 seconds: workers send a heartbeat every second, and a shorter timeout would retry live activities')
        .max(3600, 'at most 3600 seconds (an hour): a dead worker would hold its task that long')
        .optional(),
      /**
       * The run continues as new at the first task boundary where its current execution's history
       * holds this many events (or Temporal suggests it), so history stays bounded however many
       * tasks a run has. A task takes about 12 events, so the default keeps about 80 tasks in one
       * execution; 1 continues as new after every task. Absent: DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS.
       */
      continueAsNewAfterEvents: z
        .number()
        .int()
        .min(1, 'at least 1 (1 continues as new after every task)')
        .max(10_000, "at most 10000: Temporal warns from 10,240 events in one execution's history")
        .optional(),
    })
    .default({ taskQueue: 'retain' }),
  /** Which tasks are evaluated after each task (evaluation.ts); absent: all of them, the full matrix. */
  evaluation: evaluationSchema.optional(),
  /**
   * Makes the spec a sweep: the spec is the base, and `retain sweep` runs one experiment per
   * variant and seed (sweep.ts). Optional and never filled in, so a spec without it validates as
   * before; a cell's spec has none.
   */
  sweep: sweepSchema.optional(),
});

export type PluginRef = z.output<typeof pluginRefSchema>;
export type QuantizerRef = z.output<typeof quantizerRefSchema>;
/** A spec as written, before plugin configs are checked. */
export type RawExperimentSpec = z.output<typeof experimentSpecSchema>;

/** A validated spec: plugin configs hold their defaults, every quantizer has a unique id. */
export interface ExperimentSpec extends RawExperimentSpec {
  quantizers: Array<QuantizerRef & { id: string }>;
}
