import type { ScenarioInfo } from '@retain/data';
import type { Model } from '@retain/engine';
import { SpecError } from './errors';

/**
 * Labels per sample must be the model's logits rows per example: a causal LM over T tokens
 * predicts T rows and trains on T labels (the next token at each position); a one-label model
 * reads one. A mismatch would fail at the first step with a shape error, so spec validation
 * (when the benchmark outlines its scenario) and startRun (always) refuse it first, naming both
 * plugins. Undefined when they agree.
 */
export function targetsMismatch(
  spec: { benchmark: { name: string }; model: { name: string } },
  model: Pick<Model, 'targetsPerExample'>,
  scenario: Pick<ScenarioInfo, 'targetsPerSample'>,
): SpecError | undefined {
  const rows = model.targetsPerExample ?? 1;
  const labels = scenario.targetsPerSample ?? 1;
  if (rows === labels) return undefined;
  const per = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return new SpecError(
    'model',
    `model ${spec.model.name} predicts ${per(rows, 'logits row')} per example (targetsPerExample) but benchmark ${spec.benchmark.name} ` +
      `gives ${per(labels, 'label')} per sample (targetsPerSample); ` +
      (rows > 1
        ? `a causal language model needs a benchmark of token sequences labelled at every position`
        : `a one-label model needs a benchmark with one label per sample; choose a causal language model (causal-lm) for token sequences`),
  );
}
