import type { TensorMap } from '@retain/engine';
import { PluginError, type UpdateRule } from '@retain/sdk';

/**
 * The stability guard of a quadratic penalty `coefficient * sum_a sum_i w_a,i (theta_i - a_i)^2`.
 * Its curvature on weight i is `h_i = 2 * coefficient * sum_a w_a,i` (EWC: lambda * summed
 * Fisher). Heavy-ball SGD on a quadratic of curvature h diverges once
 * `lr * (h + weightDecay) >= 2 (1 + momentum)` (Nesterov: `2 (1 + momentum) / (1 + 2 momentum)`),
 * whatever the data loss adds, so a penalty past that bound makes the run fail tasks later with
 * a NaN loss that names only the learning rate. The guard checks the bound when the penalty is
 * formed from the consolidated state, before the next task's first step, and either fails then,
 * naming every number and what to change, or (when the spec asks) scales the weights down to
 * CLIP_SHARE of the bound.
 */
export interface CurvatureGuard {
  /** The plugin, as errors name it: `method ewc`. */
  plugin: string;
  /** The config field of the penalty's strength (`lambda`, `c`) and its value. */
  strengthField: string;
  strength: number;
  /** What the anchors' weights are, for the message: `F` (the summed Fisher), `Omega`. */
  weightName: string;
  /** The trainer's update rule (`MethodContext.trainer`); no check without one. */
  trainer?: UpdateRule;
  /** The method's `lrScale` on this task (default 1). */
  lrScale?: number;
  /** `method.config.curvatureClip`: clip the weights instead of failing. */
  clip?: boolean;
  /** The task about to train (the consolidation was of the task before it). */
  taskIndex: number;
}

/** Clipped weights keep their curvature at this share of the bound (a step then contracts). */
export const CLIP_SHARE = 0.9;

/** The heavy-ball bound on `lr * curvature`; Infinity for a bounded update. */
export function stabilityBound(rule: UpdateRule): number {
  if (rule.kind !== 'heavy-ball') return Infinity;
  const m = rule.momentum;
  return rule.nesterov ? (2 * (1 + m)) / (1 + 2 * m) : 2 * (1 + m);
}

function boundText(rule: UpdateRule & { kind: 'heavy-ball' }): string {
  const m = rule.momentum;
  return rule.nesterov ? `2 (1 + ${m}) / (1 + 2 * ${m}) (Nesterov)` : `2 (1 + ${m})`;
}

const fmt = (v: number) => Number(v.toPrecision(4)).toString();

/**
 * The anchors' weights as the guard leaves them: unchanged (the same objects) when the bound
 * holds or cannot be checked; scaled down per element when `clip` is set and it does not hold.
 * Throws a PluginError (non-retryable: a rerun diverges alike) when it does not hold and `clip`
 * is not set. `weights[a][param]` are anchor a's weights; only `trainable` params count.
 */
export function guardCurvature(weights: TensorMap[], coefficient: number, trainable: string[], guard: CurvatureGuard): TensorMap[] {
  const rule = guard.trainer;
  if (!rule || rule.kind !== 'heavy-ball' || coefficient <= 0) return weights;
  const lr = rule.lr * (guard.lrScale ?? 1);
  const bound = stabilityBound(rule);
  // The largest curvature any trainable weight may have: lr * (h + weightDecay) < bound.
  const allowed = bound / lr - rule.weightDecay;
  const params = trainable.filter((p) => weights.some((w) => w[p]));
  const summed = new Map<string, Float32Array>();
  let max = 0;
  let where = '';
  for (const p of params) {
    const present = weights.map((w) => w[p]).filter((t) => t !== undefined);
    const sum = new Float32Array(present[0].data.length);
    for (const t of present) for (let i = 0; i < sum.length; i++) sum[i] += t.data[i];
    summed.set(p, sum);
    for (let i = 0; i < sum.length; i++) {
      if (sum[i] > max) {
        max = sum[i];
        where = p;
      }
    }
  }
  const curvature = 2 * coefficient * max;
  if (curvature < allowed) return weights;
  const cap = (CLIP_SHARE * Math.max(allowed, 0)) / (2 * coefficient);
  if (guard.clip) {
    // Each weight scaled by the same factor across anchors: the penalty's minimum stays where it was.
    return weights.map((w) => {
      const out: TensorMap = { ...w };
      for (const p of params) {
        const sum = summed.get(p)!;
        if (!w[p] || !sum.some((v) => v > cap)) continue;
        out[p] = { dims: [...w[p].dims], data: Float32Array.from(w[p].data, (v, i) => (sum[i] > cap ? (v * cap) / sum[i] : v)) };
      }
      return out;
    });
  }
  const { strengthField: field, strength, weightName: W } = guard;
  // EWC's coefficient is lambda / 2 (curvature lambda * F), SI's is c (curvature 2 c * Omega).
  const factor =
    2 * coefficient === strength ? `${field} ${strength}` : coefficient === strength ? `2 * ${field} ${strength}` : fmt(2 * coefficient);
  const lrText =
    guard.lrScale !== undefined && guard.lrScale !== 1
      ? `${fmt(lr)} (trainer.config.lr ${rule.lr} * lrScale ${fmt(guard.lrScale)})`
      : `${rule.lr}`;
  const decay = rule.weightDecay ? ` + weightDecay ${rule.weightDecay}` : '';
  const fixes = [
    allowed > 0 ? `lower method.config.${field} below ${fmt((strength * allowed) / curvature)}` : undefined,
    `lower trainer.config.lr below ${fmt(bound / (curvature + rule.weightDecay) / (guard.lrScale ?? 1))}`,
    allowed > 0 ? `or set method.config.curvatureClip: true to clip ${W} at ${fmt(cap)}` : undefined,
  ].filter(Boolean);
  throw new PluginError(
    guard.plugin,
    `after consolidating task ${guard.taskIndex - 1} the penalty's curvature is ${factor} * max ${W} ${fmt(max)} ` +
      `(on '${where}') = ${fmt(curvature)}; lr ${lrText} * (${fmt(curvature)}${decay}) = ${fmt(lr * (curvature + rule.weightDecay))} ` +
      `is not below the heavy-ball stability bound ${boundText(rule)} = ${fmt(bound)} (momentum ${rule.momentum}), ` +
      `so training task ${guard.taskIndex} would diverge: ${fixes.join(', ')}`,
    { task: guard.taskIndex },
  );
}
