import { SpecError, SpecErrors } from './errors';
import type { PluginRegistry } from './registry';
import type { ExperimentSpec } from './spec';
import { SWEEP_MAX_CELLS, type SweepSection } from './sweep-schema';
import type { SweepCell } from './sweep-result';

/**
 * Expanding a sweep spec into its cells: one validated experiment spec per variant and seed, in a
 * fixed order, each with its run id and its group (the variant, which its seeds share). The CLI
 * expands and validates every cell before anything starts.
 */

/** A validated sweep spec: the base spec with its `sweep:` section. */
export type SweepSpec = ExperimentSpec & { sweep: SweepSection };

/** A cell with the spec it runs (the base with the cell's overrides and seed, no `sweep:` section). */
export interface PlannedCell extends SweepCell {
  spec: ExperimentSpec;
}

export interface SweepExpansion {
  spec: SweepSpec;
  cells: PlannedCell[];
}

/** Problems listed in full before the rest are only counted: a base-spec mistake repeats in every cell. */
const MAX_LISTED_ERRORS = 20;

/** Whether a spec as parsed from YAML carries a `sweep:` section. */
export function isSweepSpec(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && (raw as Record<string, unknown>).sweep !== undefined;
}

/** `<sweepId>-c<index>`, the index zero-padded to the width of the last one (at least 2 digits). */
export function cellRunId(sweepId: string, index: number, cells: number): string {
  const width = Math.max(2, String(Math.max(cells - 1, 0)).length);
  return `${sweepId}-c${String(index).padStart(width, '0')}`;
}

/**
 * Every cell of the sweep spec `raw` (as parsed from YAML), validated. Order: variants (as
 * listed), then the grid's combinations (keys in the order written, the last varying fastest),
 * then seeds. The base spec must be valid on its own. Throws SpecErrors naming, for each problem,
 * the cell (index and overrides) and the field.
 */
export function expandSweep(raw: unknown, registry: PluginRegistry, sweepId: string): SweepExpansion {
  const base = registry.validateSpec(raw);
  if (!base.sweep) throw new SpecErrors([new SpecError('sweep', 'this spec has no sweep section; `retain run` runs it')]);
  const sweep = base.sweep;
  const rawBase = { ...(raw as Record<string, unknown>) };
  delete rawBase.sweep;

  const variants = sweep.variants ?? [{}];
  const grid = Object.entries(sweep.grid ?? {});
  const setsSeed = (paths: string[]) => paths.includes('seed');
  const structural: SpecError[] = [];
  const gridPaths = grid.map(([path]) => path);
  variants.forEach((variant, i) => {
    for (const path of Object.keys(variant)) {
      if (gridPaths.includes(path))
        structural.push(new SpecError(`sweep.variants.${i}.${path}`, `also set by sweep.grid; set ${path} in one place`));
    }
  });
  if (sweep.seeds && (setsSeed(gridPaths) || variants.some((v) => setsSeed(Object.keys(v)))))
    structural.push(new SpecError('sweep.seeds', 'seed is also set by sweep.grid or sweep.variants; give the seeds in one place'));
  const combos = cartesian(grid);
  const seeds = sweep.seeds ?? [undefined];
  const count = variants.length * combos.length * seeds.length;
  if (count > SWEEP_MAX_CELLS)
    structural.push(new SpecError('sweep', `${count} cells; a sweep may have at most ${SWEEP_MAX_CELLS}: split it into several sweeps`));
  if (structural.length) throw new SpecErrors(structural);

  const cells: PlannedCell[] = [];
  const errors: SpecError[] = [];
  let invalid = 0;
  for (const variant of variants) {
    const { name, ...variantOverrides } = variant;
    for (const combo of combos) {
      for (const seed of seeds) {
        const index = cells.length;
        const overrides: Record<string, unknown> = { ...variantOverrides, ...combo };
        const applied = seed === undefined ? overrides : { ...overrides, seed };
        const cellLabel = `cell ${index} (${[typeof name === 'string' ? name : '', describeOverrides(applied)].filter(Boolean).join(' ') || 'the base spec'})`;
        let spec: ExperimentSpec | undefined;
        try {
          spec = registry.validateSpec(withOverrides(rawBase, applied));
        } catch (err) {
          if (!(err instanceof SpecErrors)) throw err;
          invalid++;
          for (const e of err.errors) errors.push(new SweepCellError(cellLabel, e));
        }
        const { seed: _seedOverride, ...withoutSeed } = overrides;
        const cellSeed = spec?.seed ?? seed ?? base.seed;
        const group = groupKey(typeof name === 'string' ? name : undefined, withoutSeed, spec);
        cells.push({ index, runId: '', overrides: withoutSeed, seed: cellSeed, group, spec: spec ?? base });
      }
    }
  }
  if (errors.length) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > listed.length)
      listed.push(
        new SpecError('sweep', `${errors.length - listed.length} more problems not listed (${invalid} of ${count} cells are invalid)`),
      );
    throw new SpecErrors(listed);
  }
  for (const cell of cells) cell.runId = cellRunId(sweepId, cell.index, cells.length);
  return { spec: base as SweepSpec, cells };
}

/** A problem of one cell: `cell 3 (method=ewc seed=1): method.config.lambda: ...`. */
export class SweepCellError extends SpecError {
  constructor(
    readonly cell: string,
    error: SpecError,
  ) {
    super(error.field, error.problem);
    this.message = `${cell}: ${error.message}`;
  }
}

/** Every combination of the grid's values, the first key varying slowest; one empty combination for no grid. */
function cartesian(grid: Array<[string, unknown[]]>): Array<Record<string, unknown>> {
  let combos: Array<Record<string, unknown>> = [{}];
  for (const [path, values] of grid) combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [path]: value })));
  return combos;
}

/**
 * A copy of `base` (a spec as parsed from YAML) with each path set to its value, shallower paths
 * first (so `method` is set before `method.config.lambda`). A plugin shorthand on the way
 * (`method: ewc`) becomes `{ name: ewc }` before a path goes into it; a numeric segment indexes a list.
 */
export function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const spec = structuredClone(base);
  const paths = Object.keys(overrides).sort((a, b) => a.split('.').length - b.split('.').length);
  for (const path of paths) setPath(spec, path, structuredClone(overrides[path]));
  return spec;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i];
    const at = segments.slice(0, i + 1).join('.');
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!/^\d+$/.test(key) || index >= node.length)
        throw new SpecErrors([
          new SpecError(path, `${segments.slice(0, i).join('.')} is a list of ${node.length}; '${key}' is not one of its indexes`),
        ]);
    }
    const container = node as Record<string, unknown>;
    if (i === segments.length - 1) {
      container[key] = value;
      return;
    }
    let child = container[key];
    // The shorthand `method: ewc` is `{ name: ewc }` with the default config.
    if (typeof child === 'string' && ['name', 'config', 'id'].includes(segments[i + 1])) child = { name: child };
    if (child === undefined) child = {};
    if (typeof child !== 'object' || child === null)
      throw new SpecErrors([new SpecError(path, `${at} is ${JSON.stringify(child)}, not an object or list, so ${path} cannot be set`)]);
    container[key] = child;
    node = child as Record<string, unknown> | unknown[];
  }
}

/** The group of a cell: its variant's name (if any) and its overrides (seed aside), readable and stable. */
function groupKey(name: string | undefined, overrides: Record<string, unknown>, spec: ExperimentSpec | undefined): string {
  const parts = name ? [name] : [];
  const described = describeOverrides(overrides, spec);
  if (described) parts.push(described);
  return parts.join(' ') || 'base';
}

/** `method=ewc method.config.lambda=100 quantizers=rtn-int8,rtn-int4`, in the order given. */
export function describeOverrides(overrides: Record<string, unknown>, spec?: ExperimentSpec): string {
  return Object.entries(overrides)
    .map(([path, value]) => {
      // Quantizers by their ids, as the results name them (rtn-int8 rather than rtn(bits=8)).
      if (path === 'quantizers' && spec) return `${path}=${spec.quantizers.map((q) => q.id).join(',') || 'none'}`;
      return `${path}=${label(value)}`;
    })
    .join(' ');
}

/** A value in a few characters: a plugin ref as `name(key=value,...)`, a list joined by ",". */
function label(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.length ? value.map(label).join(',') : 'none';
  const record = value as Record<string, unknown>;
  if (typeof record.id === 'string') return record.id;
  const entries = (r: Record<string, unknown>) =>
    Object.entries(r)
      .map(([k, v]) => `${k}=${label(v)}`)
      .join(',');
  if (typeof record.name === 'string') {
    const config = record.config && typeof record.config === 'object' ? entries(record.config as Record<string, unknown>) : '';
    return config ? `${record.name}(${config})` : record.name;
  }
  return `{${entries(record)}}`;
}

/**
 * A corrected sweep spec for `retain resume <sweep> --spec`: the same cells (count, order, seeds);
 * each rerun cell's spec is then checked like a resumed run's (same benchmark, model, seed, quantizers).
 */
export function checkResumableSweep(
  old: { cells: Array<Pick<SweepCell, 'index' | 'seed' | 'group'>> },
  next: { cells: Array<Pick<SweepCell, 'seed'>> },
): void {
  if (old.cells.length !== next.cells.length)
    throw new SpecErrors([
      new SpecError(
        'sweep',
        `has ${next.cells.length} cells, the sweep being resumed ${old.cells.length}: keep its cells, start a new sweep to change them`,
      ),
    ]);
  const moved = old.cells.find((c, i) => c.seed !== next.cells[i].seed);
  if (moved)
    throw new SpecErrors([
      new SpecError(
        'sweep.seeds',
        `cell ${moved.index} (${moved.group}) had seed ${moved.seed}, the corrected spec gives it ${next.cells[moved.index].seed}: keep the seeds`,
      ),
    ]);
}
