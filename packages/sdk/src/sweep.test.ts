import { z } from 'zod';
import { SpecErrors } from './errors';
import { definePlugin } from './plugin';
import { PluginRegistry } from './registry';
import { cellRunId, expandSweep, isSweepSpec } from './sweep';

const method = (name: string) =>
  definePlugin({
    kind: 'method',
    name,
    version: '0',
    description: '',
    configSchema: z.strictObject({ lambda: z.number().positive().default(1), buffer: z.number().int().default(10) }),
  });
const quantizer = definePlugin({
  kind: 'quantizer',
  name: 'q',
  version: '0',
  description: '',
  configSchema: z.strictObject({ bits: z.number().int().min(2).default(8) }),
  label: (c: { bits: number }) => `q-int${c.bits}`,
  quantize: async () => ({ weights: {} }),
});
const model = {
  kind: 'model',
  name: 'm',
  version: '0',
  description: '',
  configSchema: z.strictObject({ hidden: z.array(z.number().int().positive()).default([8]) }),
} as never;
const stub = (kind: 'benchmark' | 'trainer' | 'evaluator', name: string) =>
  ({ kind, name, version: '0', description: '', configSchema: z.strictObject({ momentum: z.number().optional() }) }) as never;
const registry = new PluginRegistry([
  method('ewc'),
  method('replay'),
  quantizer,
  model,
  stub('benchmark', 'b'),
  stub('trainer', 't'),
  stub('evaluator', 'accuracy'),
]);
const base = { name: 'sw', seed: 5, benchmark: 'b', model: 'm', trainer: 't', method: 'ewc', quantizers: ['q'] };

/** The problems a rejected expansion lists, one message each. */
function problems(raw: unknown): string[] {
  try {
    expandSweep(raw, registry, 'sw');
  } catch (err) {
    if (err instanceof SpecErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('expected the sweep to be rejected');
}

describe('expandSweep', () => {
  it('crosses variants, then the grid in key order, then seeds, with padded run ids and seed-free groups', () => {
    const { cells, spec } = expandSweep(
      {
        ...base,
        sweep: {
          variants: [{ name: 'strong', 'method.config.lambda': 100 }, { method: 'replay' }],
          grid: { quantizers: [['q'], [{ name: 'q', config: { bits: 4 } }]], 'model.config.hidden': [[16], [32]] },
          seeds: [0, 1],
        },
      },
      registry,
      'sw-1',
    );
    expect(spec.sweep.parallel).toBe(4);
    expect(cells).toHaveLength(16);
    expect(cells.map((c) => c.runId).slice(0, 3)).toEqual(['sw-1-c00', 'sw-1-c01', 'sw-1-c02']);
    expect(cells[15].runId).toBe('sw-1-c15');
    expect(cells.map((c) => c.seed).slice(0, 4)).toEqual([0, 1, 0, 1]);
    // Variant 0 (named), first grid key slowest: quantizers, then hidden, then seeds.
    expect(cells.slice(0, 8).map((c) => c.group)).toEqual([
      'strong method.config.lambda=100 quantizers=q-int8 model.config.hidden=16',
      'strong method.config.lambda=100 quantizers=q-int8 model.config.hidden=16',
      'strong method.config.lambda=100 quantizers=q-int8 model.config.hidden=32',
      'strong method.config.lambda=100 quantizers=q-int8 model.config.hidden=32',
      'strong method.config.lambda=100 quantizers=q-int4 model.config.hidden=16',
      'strong method.config.lambda=100 quantizers=q-int4 model.config.hidden=16',
      'strong method.config.lambda=100 quantizers=q-int4 model.config.hidden=32',
      'strong method.config.lambda=100 quantizers=q-int4 model.config.hidden=32',
    ]);
    expect(cells[8].group).toBe('method=replay quantizers=q-int8 model.config.hidden=16');
    // The shorthand `method: ewc` became { name, config } before lambda was set; other defaults stay.
    expect(cells[0].spec.method).toEqual({ name: 'ewc', config: { lambda: 100, buffer: 10 } });
    expect(cells[8].spec.method).toEqual({ name: 'replay', config: { lambda: 1, buffer: 10 } });
    expect(cells[5].spec.quantizers.map((q) => q.id)).toEqual(['q-int4']);
    expect(cells[2].spec.model.config).toEqual({ hidden: [32] });
    expect(cells[1].spec.seed).toBe(1);
    expect(cells[0].overrides).toEqual({ 'method.config.lambda': 100, quantizers: ['q'], 'model.config.hidden': [16] });
    // A cell is a plain spec: no sweep section.
    expect('sweep' in cells[0].spec).toBe(false);
  });

  it("defaults seeds to the spec's seed, and takes seeds from the grid without splitting groups", () => {
    const single = expandSweep({ ...base, sweep: { grid: { method: ['ewc', 'replay'] } } }, registry, 'a');
    expect(single.cells.map((c) => [c.runId, c.seed, c.group])).toEqual([
      ['a-c00', 5, 'method=ewc'],
      ['a-c01', 5, 'method=replay'],
    ]);
    const seeded = expandSweep({ ...base, sweep: { grid: { 'trainer.config.momentum': [0, 0.9], seed: [1, 2] } } }, registry, 'b');
    expect(seeded.cells.map((c) => [c.seed, c.group])).toEqual([
      [1, 'trainer.config.momentum=0'],
      [2, 'trainer.config.momentum=0'],
      [1, 'trainer.config.momentum=0.9'],
      [2, 'trainer.config.momentum=0.9'],
    ]);
    expect(seeded.cells[0].spec.trainer).toEqual({ name: 't', config: { momentum: 0 } });
  });

  it('pads run ids to the width of the last index', () => {
    expect(cellRunId('s', 7, 8)).toBe('s-c07');
    expect(cellRunId('s', 7, 1000)).toBe('s-c007');
    expect(cellRunId('s', 1234, 1235)).toBe('s-c1234');
  });

  it('names the cell (index and overrides) and the field of every invalid cell', () => {
    const listed = problems({ ...base, sweep: { grid: { 'method.config.lambda': [1, -2] }, seeds: [0, 1] } });
    expect(listed).toEqual([
      expect.stringMatching(/^cell 2 \(method\.config\.lambda=-2 seed=0\): method\.config\.lambda: .*/),
      expect.stringMatching(/^cell 3 \(method\.config\.lambda=-2 seed=1\): method\.config\.lambda: .*/),
    ]);
    expect(problems({ ...base, sweep: { variants: [{ name: 'bad', 'quantizers.0.config.bits': 1 }] } })).toEqual([
      expect.stringMatching(/^cell 0 \(bad quantizers\.0\.config\.bits=1\): quantizers\.0\.config\.bits: /),
    ]);
    expect(problems({ ...base, sweep: { grid: { 'seed.x': [1] } } })).toEqual([
      expect.stringMatching(/^cell 0 \(seed\.x=1\): seed\.x: seed is 5, not an object or list/),
    ]);
    expect(problems({ ...base, sweep: { grid: { metod: ['ewc'] } } })).toEqual([
      expect.stringMatching(/^cell 0 \(metod=ewc\): (\(spec\)|metod): /),
    ]);
  });

  it('refuses a malformed sweep section, a path set twice and seeds given twice, naming the field', () => {
    expect(problems({ ...base, sweep: {} })).toEqual([expect.stringMatching(/^sweep: a sweep needs a grid, variants or seeds/)]);
    expect(problems({ ...base, sweep: { grid: { method: [] }, parallel: 0 } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sweep\.grid\.method: list at least one value/),
        expect.stringMatching(/^sweep\.parallel: at least 1/),
      ]),
    );
    expect(problems({ ...base, sweep: { variants: [{ 'bad path!': 1 }] } })).toEqual([
      expect.stringMatching(/^sweep\.variants\.0\.bad path!: /),
    ]);
    expect(problems({ ...base, sweep: { variants: [{ method: 'replay' }], grid: { method: ['ewc'] } } })).toEqual([
      'sweep.variants.0.method: also set by sweep.grid; set method in one place',
    ]);
    expect(problems({ ...base, sweep: { grid: { seed: [1] }, seeds: [0] } })).toEqual([
      expect.stringMatching(/^sweep\.seeds: seed is also set/),
    ]);
    const many = Array.from({ length: 101 }, (_, i) => i);
    expect(problems({ ...base, sweep: { grid: { 'method.config.buffer': many }, seeds: many.slice(0, 50) } })).toEqual([
      'sweep: 5050 cells; a sweep may have at most 5000: split it into several sweeps',
    ]);
  });

  it('tells sweep specs from plain ones; a plain spec validates without a sweep field', () => {
    expect(isSweepSpec({ ...base, sweep: { seeds: [1] } })).toBe(true);
    expect(isSweepSpec(base)).toBe(false);
    expect('sweep' in registry.validateSpec(base)).toBe(false);
  });
});
