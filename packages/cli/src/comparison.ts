import tCdf from '@stdlib/stats-base-dists-t-cdf';
import { statOverSeeds, type SeedStat } from '@retain/metrics';
import { FP32, type ExperimentResult, type SweepResult } from '@retain/sdk';
import { BadInputError } from './output';
import type { LoadedResults } from './results-source';
import { alignTable, formatValue } from './table';

// `retain compare`: runs and sweeps side by side. Pure: it takes loaded results and returns the
// comparison (and its text), so every rule here is unit-tested without a server.

/**
 * The metrics compared, per model (fp32 and each quantizer id), and per quantizer. The loss
 * metrics (perplexity evaluator, lower is better) appear only where a run has them; `qifLoss` is
 * QIF on them: forgetting (loss) of the quantized model minus the fp32 model's, per run.
 */
export const MODEL_METRICS = ['acc', 'bwt', 'fwt', 'forgetting'] as const;
export const LOSS_METRICS = ['loss', 'bwtLoss', 'forgettingLoss'] as const;
export const QUANTIZATION_METRICS = ['accGap', 'qif', 'qifLoss'] as const;
export type ComparedMetric = (typeof MODEL_METRICS)[number] | (typeof LOSS_METRICS)[number] | (typeof QUANTIZATION_METRICS)[number];

const LABELS: Record<ComparedMetric, string> = {
  acc: 'ACC',
  bwt: 'BWT',
  fwt: 'FWT',
  forgetting: 'Forgetting',
  loss: 'loss',
  bwtLoss: 'BWT (loss)',
  forgettingLoss: 'Forgetting (loss)',
  accGap: 'ACC gap',
  qif: 'QIF',
  qifLoss: 'QIF (loss)',
};
/** Metrics printed with a sign (transfer and gaps go either way); ACC, loss and forgetting do not. */
const SIGNED = new Set<ComparedMetric>(['bwt', 'fwt', 'bwtLoss', 'accGap', 'qif', 'qifLoss']);
/** Paired differences within each run (quantized minus fp32): their own test is against zero. */
const PAIRED = new Set<ComparedMetric>(['qif', 'qifLoss']);

/** The significance level of the within-noise verdict (two-sided Welch's t-test). */
export const ALPHA = 0.05;

/**
 * Whether a subject's value differs from the first subject's by more than seed noise: Welch's
 * t-test (unequal variances) on the two groups' mean, sample std and seed count, two-sided at
 * ALPHA; `n/a` when either side has fewer than 2 seeds (no spread to measure noise by) or no value.
 */
export type Verdict =
  | { test: 'welch' | 'paired-t' | 'one-sample-t'; t: number; df: number; p: number; withinNoise: boolean }
  | { test: 'n/a'; reason: '1 seed' | 'no value' };

/** One metric of one model (or quantizer) in one group, across every subject. */
export interface ComparisonRow {
  /** fp32 or a quantizer id. */
  model: string;
  metric: ComparedMetric;
  /** Per subject, in command-line order; null where that subject has no such group, model or value. */
  values: Array<SeedStat | null>;
  /** Per subject, its mean minus the first subject's (null for the first, and where either has no value). */
  deltas: Array<number | null>;
  /** Per subject, its verdict against the first (null for the first). */
  verdicts: Array<Verdict | null>;
  /**
   * QIF rows only: per subject, whether its QIF differs from 0 beyond seed noise (a one-sample
   * t-test on the per-seed differences, which are paired: both models come from the same runs):
   * does quantizing change forgetting at all?
   */
  againstZero?: Array<Verdict>;
}

/** The rows of one group: a sweep's variant (its group key), or '' when only runs are compared. */
export interface ComparisonGroup {
  group: string;
  rows: ComparisonRow[];
}

export interface ComparedSubject {
  /** group: one group of a sweep (`retain compare <sweep> --groups`), its id `<sweep id>:<group name>`. */
  kind: 'run' | 'sweep' | 'group';
  id: string;
  /** A run: 1. A sweep: its groups' largest seed count. A group: its seed count. */
  seeds: number;
}

/** A spec field whose value differs between the first subject and another: the thing being compared. */
export interface SpecDifference {
  /** Dotted path, with [i] for list items: `method.config.lambda`, `quantizers[0].config.bits`. */
  field: string;
  /** Per subject; undefined (absent from JSON) where the spec does not have the field. */
  values: unknown[];
}

/** `retain compare --json`: one object. */
export interface Comparison {
  subjects: ComparedSubject[];
  /** How the verdict is reached. */
  /**
   * How the verdicts are reached: Welch's t-test, or (groups of one sweep that ran the same seeds)
   * a paired t-test over those seeds: seed s of each group saw the same data split and initial
   * weights, so the per-seed differences carry less noise than the two groups' spreads.
   */
  test: { name: 'welch-t' | 'paired-t'; alpha: number; twoSided: true; minSeeds: 2; qifAgainstZero: 'one-sample-t' };
  specDifferences: SpecDifference[];
  groups: ComparisonGroup[];
}

/** One subject's numbers per group: a run is one group that stands beside every sweep group. */
interface Side {
  subject: ComparedSubject;
  /** Group key -> model -> metric -> stat; a run's single group is under RUN_GROUP. */
  groups: Map<string, Map<string, Map<ComparedMetric, SeedStat>>>;
}
const RUN_GROUP = '';

export function compareResults(loaded: LoadedResults[]): Comparison {
  if (loaded.length < 2) throw new Error(`compare needs at least two runs or sweeps, got ${loaded.length}`);
  return compareSides(
    loaded.map(sideOf),
    loaded.map((l) => l.result.spec),
  );
}

/**
 * Groups of one sweep side by side, the first the baseline (`retain compare <sweep> --groups`):
 * is method B beyond seed noise of method A in this sweep? A name is a group's variant name (the
 * first word of its key) or its whole key. The spec differences are the groups' overrides. The
 * verdict pairs the groups seed by seed when they ran the same seeds (unless `test` is 'welch').
 */
export function compareGroups(loaded: LoadedResults, names: string[], test?: 'paired' | 'welch'): Comparison {
  if (loaded.kind !== 'sweep') throw new BadInputError(`--groups compares groups of one sweep; ${loaded.id} is a run`);
  if (names.length < 2) throw new BadInputError(`--groups needs at least two group names, got ${names.length}`);
  const perGroup = sweepMetrics(loaded.result);
  const chosen = names.map((name) => {
    const group = loaded.result.groups.find((g) => g.group === name || g.group.split(' ')[0] === name);
    if (!group) {
      const known = loaded.result.groups.map((g) => g.group.split(' ')[0]).join(', ');
      throw new BadInputError(`sweep ${loaded.id} has no group '${name}'; its groups: ${known}`);
    }
    return group;
  });
  const sides: Side[] = chosen.map((g, i) => ({
    subject: { kind: 'group', id: `${loaded.id}:${names[i]}`, seeds: g.seeds.length },
    groups: new Map([[RUN_GROUP, perGroup.get(g.group) ?? new Map()]]),
  }));
  const sameSeeds = chosen.every((g) => JSON.stringify(g.seeds) === JSON.stringify(chosen[0].seeds));
  if (test === 'paired' && !sameSeeds)
    throw new BadInputError(
      `--test paired needs groups that ran the same seeds; ${chosen.map((g, i) => `${names[i]}: ${g.seeds.join(', ')}`).join('; ')}`,
    );
  return compareSides(
    sides,
    chosen.map((g) => g.overrides),
    test === 'welch' ? false : sameSeeds,
  );
}

function compareSides(sides: Side[], specs: unknown[], paired = false): Comparison {
  const against = paired ? pairedVerdict : verdict;
  // Groups in the order the sweeps list them (the first sweep's first); runs alone make one group.
  const keys: string[] = [];
  for (const side of sides) for (const key of side.groups.keys()) if (side.subject.kind === 'sweep' && !keys.includes(key)) keys.push(key);
  if (keys.length === 0) keys.push(RUN_GROUP);
  const groups = keys.map((group) => {
    // A run has one group, compared with every group of the sweeps beside it.
    const perSide = sides.map((s) => s.groups.get(s.subject.kind === 'run' ? RUN_GROUP : group));
    const models = unionInOrder(
      perSide.map((g) => [...(g?.keys() ?? [])]),
      [FP32],
    );
    const rows: ComparisonRow[] = [];
    for (const model of models) {
      const metrics = model === FP32 ? [...MODEL_METRICS, ...LOSS_METRICS] : [...MODEL_METRICS, ...LOSS_METRICS, ...QUANTIZATION_METRICS];
      for (const metric of metrics) {
        const values = perSide.map((g) => g?.get(model)?.get(metric) ?? null);
        // Gap and loss rows only where some subject has them (no perplexity evaluator: no loss rows).
        if (values.every((v) => v === null) && !(MODEL_METRICS as readonly string[]).includes(metric)) continue;
        rows.push({
          model,
          metric,
          values,
          deltas: values.map((v, i) => (i === 0 ? null : delta(values[0], v))),
          verdicts: values.map((v, i) => (i === 0 ? null : against(values[0], v))),
          ...(PAIRED.has(metric) ? { againstZero: values.map((v) => zeroVerdict(v)) } : {}),
        });
      }
    }
    return { group, rows };
  });
  return {
    subjects: sides.map((s) => s.subject),
    test: { name: paired ? 'paired-t' : 'welch-t', alpha: ALPHA, twoSided: true, minSeeds: 2, qifAgainstZero: 'one-sample-t' },
    specDifferences: specDifferences(specs),
    groups,
  };
}

function sideOf(loaded: LoadedResults): Side {
  if (loaded.kind === 'run') {
    return { subject: { kind: 'run', id: loaded.id, seeds: 1 }, groups: new Map([[RUN_GROUP, runMetrics(loaded.result)]]) };
  }
  return { subject: { kind: 'sweep', id: loaded.id, seeds: maxSeeds(loaded.result) }, groups: sweepMetrics(loaded.result) };
}

type RunLossMetrics = ExperimentResult['lossMetrics'];

/** A run's loss metrics by compared name; QIF (loss) of quantizer q = forgetting (loss) of q minus fp32's. */
function lossValues(loss: RunLossMetrics, model: string): Partial<Record<ComparedMetric, number | null>> {
  const m = loss?.[model];
  if (!m) return {};
  const values: Partial<Record<ComparedMetric, number | null>> = { loss: m.loss, bwtLoss: m.bwt, forgettingLoss: m.forgetting };
  const fp32 = loss?.[FP32]?.forgetting;
  if (model !== FP32) values.qifLoss = m.forgetting === null || fp32 == null ? null : m.forgetting - fp32;
  return values;
}

function runMetrics(result: ExperimentResult): Map<string, Map<ComparedMetric, SeedStat>> {
  const models = new Map<string, Map<ComparedMetric, SeedStat>>();
  for (const [model, m] of Object.entries(result.metrics)) {
    models.set(model, new Map(MODEL_METRICS.map((k) => [k, statOverSeeds([m[k]])])));
  }
  for (const [q, m] of Object.entries(result.quantization ?? {})) {
    const stats = models.get(q) ?? new Map<ComparedMetric, SeedStat>();
    stats.set('accGap', statOverSeeds([m.accGap]));
    stats.set('qif', statOverSeeds([m.quantizationInducedForgetting]));
    models.set(q, stats);
  }
  for (const model of Object.keys(result.lossMetrics ?? {})) {
    const stats = models.get(model) ?? new Map<ComparedMetric, SeedStat>();
    for (const [k, v] of Object.entries(lossValues(result.lossMetrics, model))) stats.set(k as ComparedMetric, statOverSeeds([v]));
    models.set(model, stats);
  }
  return models;
}

function sweepMetrics(result: SweepResult): Map<string, Map<string, Map<ComparedMetric, SeedStat>>> {
  const groups = new Map<string, Map<string, Map<ComparedMetric, SeedStat>>>();
  for (const g of result.groups) {
    const models = new Map<string, Map<ComparedMetric, SeedStat>>();
    for (const [model, m] of Object.entries(g.metrics)) models.set(model, new Map(MODEL_METRICS.map((k) => [k, m[k]])));
    for (const [q, m] of Object.entries(g.quantization ?? {})) {
      const stats = models.get(q) ?? new Map<ComparedMetric, SeedStat>();
      stats.set('accGap', m.accGap);
      stats.set('qif', m.quantizationInducedForgetting);
      models.set(q, stats);
    }
    // Over the group's runs, seed by seed, so QIF (loss) is a paired difference per run.
    const runs = g.runIds.map((id) => result.runs[id]?.lossMetrics).filter((l) => l !== undefined);
    for (const model of Object.keys(g.lossMetrics ?? {})) {
      const stats = models.get(model) ?? new Map<ComparedMetric, SeedStat>();
      const perRun = runs.map((loss) => lossValues(loss, model));
      for (const k of [...LOSS_METRICS, ...(model === FP32 ? [] : (['qifLoss'] as const))])
        stats.set(k, statOverSeeds(perRun.map((v) => v[k] ?? null)));
      models.set(model, stats);
    }
    groups.set(g.group, models);
  }
  return groups;
}

const maxSeeds = (result: SweepResult) => Math.max(0, ...result.groups.map((g) => g.seeds.length));

function delta(base: SeedStat | null, other: SeedStat | null): number | null {
  return base?.mean == null || other?.mean == null ? null : other.mean - base.mean;
}

/** Welch's t-test of two groups given as mean, sample std and n (two-sided). */
export function verdict(a: SeedStat | null, b: SeedStat | null): Verdict {
  if (a?.mean == null || b?.mean == null || a.std === null || b.std === null) return { test: 'n/a', reason: 'no value' };
  if (a.n < 2 || b.n < 2) return { test: 'n/a', reason: '1 seed' };
  const va = a.std ** 2 / a.n;
  const vb = b.std ** 2 / b.n;
  // Welch–Satterthwaite degrees of freedom (n_a + n_b - 2 when neither side varies).
  const df = va + vb === 0 ? a.n + b.n - 2 : (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  return tVerdict('welch', b.mean - a.mean, va + vb, df);
}

/** One-sample t-test of mean 0 over seeds (two-sided): for paired differences such as QIF. */
export function zeroVerdict(s: SeedStat | null, test: 'one-sample-t' | 'paired-t' = 'one-sample-t'): Verdict {
  if (s?.mean == null || s.std === null) return { test: 'n/a', reason: 'no value' };
  if (s.n < 2) return { test: 'n/a', reason: '1 seed' };
  return tVerdict(test, s.mean, s.std ** 2 / s.n, s.n - 1);
}

/** The two-sided t-test of `diff` with squared standard error `variance` on `df` degrees of freedom. */
function tVerdict(test: 'welch' | 'paired-t' | 'one-sample-t', diff: number, variance: number, df: number): Verdict {
  if (variance === 0)
    // Every seed gave the same value: no noise at all, so any difference is real.
    return { test, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df, p: diff === 0 ? 1 : 0, withinNoise: diff === 0 };
  const t = diff / Math.sqrt(variance);
  const p = Math.min(1, 2 * (1 - tCdf(Math.abs(t), df)));
  return { test, t, df, p, withinNoise: p >= ALPHA };
}

/** Paired t-test (two-sided) of b - a seed by seed: `values` in the same seed order on both sides. */
export function pairedVerdict(a: SeedStat | null, b: SeedStat | null): Verdict {
  if (a?.mean == null || b?.mean == null) return { test: 'n/a', reason: 'no value' };
  const diffs = a.values.map((x, i) => (x === null || b.values[i] == null ? null : (b.values[i] as number) - x));
  return zeroVerdict(statOverSeeds(diffs), 'paired-t');
}

/** Every field whose value differs between the first spec and any other, with each spec's value. */
export function specDifferences(specs: unknown[]): SpecDifference[] {
  const flat = specs.map((s) => flatten(s));
  const fields = unionInOrder(flat.map((f) => [...f.keys()]));
  return fields
    .filter((field) => !IGNORED_SPEC_FIELDS.some((p) => field === p || field.startsWith(`${p}.`)))
    .filter((field) => flat.some((f) => JSON.stringify(f.get(field)) !== JSON.stringify(flat[0].get(field))))
    .map((field) => ({ field, values: flat.map((f) => f.get(field)) }));
}

/**
 * Fields that name or place a run rather than decide its numbers: the spec's name and where and how
 * its activities run (task queues, timeouts, continue-as-new), which `retain resume` may change too.
 */
export const IGNORED_SPEC_FIELDS = ['name', 'execution'];

/** Leaf values by dotted path (objects) and [i] (lists); an empty object or list is a leaf. */
function flatten(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value) && value.length) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  else if (isObject(value) && Object.keys(value).length)
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  else out.set(path, value);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unionInOrder(lists: string[][], first: string[] = []): string[] {
  const seen = new Set<string>();
  const all = [...first.filter((x) => lists.some((l) => l.includes(x))), ...lists.flat()];
  return all.filter((x) => !seen.has(x) && (seen.add(x), true));
}

// --- text ---

/** Subjects are lettered A, B, C, ... in the tables; the first is the baseline every delta is against. */
const letter = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : `S${i + 1}`);

/** The comparison as plain text tables, in the style of the metrics tables (packages/metrics/src/format.ts). */
export function formatComparison(c: Comparison): string {
  const sections: string[] = [];
  sections.push(
    c.subjects.map((s, i) => `${letter(i)} = ${s.kind} ${s.id}${subjectSeeds(s)}`).join('\n') +
      `\nΔ = each one's mean minus A's; verdict: ${c.test.name === 'paired-t' ? 'paired t-test over the seeds both ran (same seed, same data)' : "Welch's t-test"}, two-sided, p < ${c.test.alpha} differs, else within noise` +
      (c.groups.some((g) => g.rows.some((r) => r.againstZero?.some((v) => v.test !== 'n/a')))
        ? `\nX vs 0 (QIF rows): one-sample t-test of X's per-seed QIF against 0 (does quantizing change forgetting in those runs)`
        : ''),
  );
  if (c.specDifferences.length) {
    const header = ['spec field', ...c.subjects.map((_, i) => letter(i))];
    const rows = c.specDifferences.map((d) => [d.field, ...d.values.map(formatSpecValue)]);
    sections.push(`Spec fields that differ\n${alignTable([header, ...rows])}`);
  } else {
    sections.push('Spec fields that differ: none (besides name and execution)');
  }
  for (const g of c.groups) {
    // The vs-0 columns only where some subject has the seeds to test it.
    const testsZero = g.rows.some((r) => r.againstZero?.some((v) => v.test !== 'n/a'));
    const header = ['model', 'metric', ...c.subjects.map((_, i) => letter(i))];
    for (let i = 1; i < c.subjects.length; i++) header.push(`Δ ${letter(i)}−A`, `${letter(i)} vs A`);
    if (testsZero) header.push(...c.subjects.map((_, i) => `${letter(i)} vs 0`));
    const body = g.rows.map((r) => {
      const cells = [r.model, LABELS[r.metric], ...r.values.map((v) => formatStat(v, SIGNED.has(r.metric)))];
      for (let i = 1; i < c.subjects.length; i++) cells.push(formatValue(r.deltas[i], true), formatVerdict(r.verdicts[i]));
      if (testsZero) cells.push(...c.subjects.map((_, i) => formatVerdict(r.againstZero?.[i] ?? null)));
      return cells;
    });
    sections.push(`${g.group ? `Group ${g.group}` : 'Metrics'}\n${alignTable([header, ...body], 2)}`);
  }
  return sections.join('\n\n');
}

function subjectSeeds(s: ComparedSubject): string {
  const seeds = `${s.seeds} seed${s.seeds === 1 ? '' : 's'}`;
  if (s.kind === 'sweep') return ` (up to ${seeds} a group)`;
  return s.kind === 'group' ? ` (${seeds})` : '';
}

/** `0.8123`, or `0.8123 ± 0.0100` over two or more seeds; `-` where the subject lacks it. */
function formatStat(s: SeedStat | null, signed: boolean): string {
  if (s === null) return '-';
  const mean = formatValue(s.mean, signed);
  return s.n >= 2 && s.std !== null ? `${mean} ± ${s.std.toFixed(4)}` : mean;
}

export function formatVerdict(v: Verdict | null): string {
  if (v === null) return '';
  if (v.test === 'n/a') return `n/a (${v.reason})`;
  const p = v.p < 0.001 ? 'p<0.001' : `p=${v.p.toFixed(3)}`;
  return `${v.withinNoise ? 'within noise' : 'differs'} (${p})`;
}

function formatSpecValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
