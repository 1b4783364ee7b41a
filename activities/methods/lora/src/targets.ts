import { isLoraParam, type Model } from '@retain/engine';
import { DEFAULT_TARGETS } from './config';

/** The model's [in, out] matrix parameters, adapters aside: what can get an adapter. */
export function matrixWeights(model: Model): string[] {
  return model.params.filter((p) => p.dims.length === 2 && !isLoraParam(p.name)).map((p) => p.name);
}

/** Whether `pattern`'s dotted segments occur, in a row and whole, in `name`'s. */
export function matchesTarget(name: string, pattern: string): boolean {
  const segments = name.split('.');
  const wanted = pattern.split('.');
  for (let i = 0; i + wanted.length <= segments.length; i++) if (wanted.every((w, k) => segments[i + k] === w)) return true;
  return false;
}

/**
 * The weights `targets` names (in the model's parameter order), or a message saying which name
 * matched nothing and what there is. Absent targets: the default projections the model has, at
 * least one.
 */
export function resolveTargets(model: Model, targets: string[] | undefined): { weights: string[] } | { problem: string } {
  const matrices = matrixWeights(model);
  const patterns = targets ?? DEFAULT_TARGETS;
  const weights = matrices.filter((name) => patterns.some((p) => matchesTarget(name, p)));
  const available = `the model's matrix weights are ${matrices.join(', ') || 'none'}`;
  if (targets) {
    const unmatched = targets.filter((p) => !matrices.some((name) => matchesTarget(name, p)));
    if (unmatched.length)
      return {
        problem: `${unmatched.map((p) => `'${p}'`).join(', ')} match${unmatched.length === 1 ? 'es' : ''} no matrix weight of model '${model.name}'; ${available}`,
      };
    return { weights };
  }
  if (weights.length === 0)
    return {
      problem: `model '${model.name}' has none of the default targets (${DEFAULT_TARGETS.join(', ')}); list the weights to adapt; ${available}`,
    };
  return { weights };
}
