import { targetsMismatch } from './targets';

const spec = { benchmark: { name: 'text' }, model: { name: 'causal-lm' } };

describe('targetsMismatch: labels per sample against logits rows per example', () => {
  test('agreeing counts (absent = 1) pass', () => {
    expect(targetsMismatch(spec, {}, {})).toBeUndefined();
    expect(targetsMismatch(spec, { targetsPerExample: 64 }, { targetsPerSample: 64 })).toBeUndefined();
  });

  test('a causal LM on a one-label benchmark is refused at the model field, naming both plugins', () => {
    const e = targetsMismatch(spec, { targetsPerExample: 64 }, {});
    expect(e?.field).toBe('model');
    expect(e?.message).toContain(
      'model causal-lm predicts 64 logits rows per example (targetsPerExample) but benchmark text gives 1 label per sample (targetsPerSample)',
    );
  });

  test('a one-label model on sequences is refused, pointing at causal-lm', () => {
    const e = targetsMismatch({ benchmark: { name: 'text-domains' }, model: { name: 'mlp' } }, {}, { targetsPerSample: 32 });
    expect(e?.message).toContain(
      'model mlp predicts 1 logits row per example (targetsPerExample) but benchmark text-domains gives 32 labels per sample',
    );
    expect(e?.message).toContain('choose a causal language model (causal-lm)');
  });
});
