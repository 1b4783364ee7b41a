import { numel } from '@retain/engine';
import type { ScenarioInfo } from '@retain/data';
import { causalLmConfigSchema, causalLmModel } from './index';

const scenario: ScenarioInfo = {
  name: 'seq',
  tasks: 2,
  heads: 1,
  classesPerHead: 256,
  inputDims: [256],
  taskNames: ['a', 'b'],
  targetsPerSample: 256,
};
const paramsOf = (config: unknown) =>
  causalLmModel.build(causalLmConfigSchema.parse(config), scenario).params.reduce((n, p) => n + numel(p.dims), 0);

describe('causal-lm model plugin', () => {
  test('defaults: bytes, width 128, depth 4, 4 heads, mlpRatio 4, rmsnorm, rotary, swiglu, tied, no dropout', () => {
    expect(causalLmConfigSchema.parse({})).toEqual({
      vocab: 256,
      width: 128,
      depth: 4,
      attentionHeads: 4,
      mlpRatio: 4,
      norm: 'rmsnorm',
      positions: 'rotary',
      mlp: 'swiglu',
      tieEmbeddings: true,
      dropout: 0,
    });
    const model = causalLmModel.build(causalLmConfigSchema.parse({}), scenario);
    expect(model).toMatchObject({ inputDims: [256], heads: 1, classesPerHead: 256, targetsPerExample: 256 });
  });

  test("the README's three sizes (parameters counted from the built model)", () => {
    expect(paramsOf({})).toBe(829_760);
    expect(paramsOf({ width: 256, depth: 8, attentionHeads: 8 })).toBe(6_366_080);
    expect(paramsOf({ width: 512, depth: 6, attentionHeads: 8 })).toBe(19_068_448);
  });

  test('refuses a task-IL scenario, a vocabulary other than the benchmark tokens, and odd head widths with rotary', () => {
    const config = causalLmConfigSchema.parse({});
    expect(() => causalLmModel.build(config, { ...scenario, heads: 2 })).toThrow(
      'causal-lm has one head, its vocabulary, shared by every task; benchmark seq gives 2 heads (task-incremental)',
    );
    expect(() => causalLmModel.build(config, { ...scenario, classesPerHead: 100 })).toThrow(
      "256 tokens, but benchmark seq's tokens are 0..99; set vocab to 100",
    );
    expect(() => causalLmModel.build(config, { ...scenario, inputDims: [16, 16] })).toThrow('causal-lm reads [context] token ids');
    const odd = causalLmConfigSchema.safeParse({ width: 96, attentionHeads: 32 });
    expect(odd.success).toBe(false);
    expect(odd.error?.issues[0]).toMatchObject({ path: ['attentionHeads'] });
    expect(odd.error?.issues[0].message).toContain('width / attentionHeads must be even (96 / 32 = 3)');
    expect(causalLmConfigSchema.safeParse({ width: 96, attentionHeads: 32, positions: 'learned' }).success).toBe(true);
  });

  test('activations grow with depth, context squared (attention) and vocab (the logits)', () => {
    const base = causalLmConfigSchema.parse({});
    const a = causalLmModel.activations!(base, scenario);
    expect(a.train).toBeGreaterThan(a.evaluate);
    expect(causalLmModel.activations!({ ...base, depth: 8 }, scenario).train).toBeGreaterThan(1.9 * a.train - 1e6);
    const short = causalLmModel.activations!(base, { ...scenario, inputDims: [128] });
    expect(short.train).toBeLessThan(a.train / 2);
  });
});
