import type { TensorMap } from '@retain/engine';
import { PluginError, type UpdateRule } from '@retain/sdk';
import { CLIP_SHARE, guardCurvature, stabilityBound, type CurvatureGuard } from './curvature-guard';
import { quadraticPenalty } from './quadratic-penalty';
import { namespace } from './namespace';

const sgd = (lr: number, momentum = 0, extra: Partial<UpdateRule> = {}): UpdateRule =>
  ({ kind: 'heavy-ball', lr, momentum, nesterov: false, weightDecay: 0, ...extra }) as UpdateRule;
const t = (...v: number[]) => ({ dims: [v.length], data: Float32Array.from(v) });
/** EWC's form: coefficient lambda / 2, so the curvature is lambda * sum of F. */
const ewcGuard = (trainer: UpdateRule | undefined, lambda: number, clip?: boolean): CurvatureGuard => ({
  plugin: 'method ewc',
  strengthField: 'lambda',
  strength: lambda,
  weightName: 'F',
  trainer,
  clip,
  taskIndex: 4,
});

describe('curvature guard', () => {
  // Two anchors (EWC's tasks 0 and 1): summed F is [3, 5] on w, [1] on b.
  const weights: TensorMap[] = [{ w: t(1, 2), b: t(1) }, { w: t(2, 3) }];

  it('the bound: 2 (1 + momentum) for heavy-ball, 2 (1 + m) / (1 + 2 m) with Nesterov, none for a bounded step', () => {
    expect(stabilityBound(sgd(0.1, 0.9))).toBeCloseTo(3.8);
    expect(stabilityBound(sgd(0.1, 0.9, { nesterov: true }))).toBeCloseTo(3.8 / 2.8);
    expect(stabilityBound({ kind: 'bounded', lr: 0.1, reason: 'adam' })).toBe(Infinity);
  });

  it('hands back the same weights when lr * lambda * max F is under the bound, or nothing can be checked', () => {
    // lr 0.03 * lambda 10 * 5 = 1.5 < 2.
    expect(guardCurvature(weights, 10 / 2, ['w', 'b'], ewcGuard(sgd(0.03), 10))).toBe(weights);
    expect(guardCurvature(weights, 1e6, ['w', 'b'], ewcGuard(undefined, 2e6))).toBe(weights);
    expect(guardCurvature(weights, 1e6, ['w', 'b'], ewcGuard({ kind: 'bounded', lr: 1, reason: 'adam' }, 2e6))).toBe(weights);
    // Only trainable params count: b alone (F 1) is under the bound at lambda 50 (0.03 * 50 * 1 = 1.5).
    expect(guardCurvature(weights, 50 / 2, ['b'], ewcGuard(sgd(0.03), 50))).toBe(weights);
  });

  it('fails over the bound with a PluginError naming lambda, max F, lr, momentum, the bound and the fixes', () => {
    // lr 0.03 * lambda 20 * 5 = 3 >= 2.
    const fail = () => guardCurvature(weights, 20 / 2, ['w', 'b'], ewcGuard(sgd(0.03), 20));
    expect(fail).toThrow(PluginError);
    expect(fail).toThrow(
      "method ewc (task 4): after consolidating task 3 the penalty's curvature is lambda 20 * max F 5 (on 'w') = 100; " +
        'lr 0.03 * (100) = 3 is not below the heavy-ball stability bound 2 (1 + 0) = 2 (momentum 0), so training task 4 would diverge: ' +
        'lower method.config.lambda below 13.33, lower trainer.config.lr below 0.02, or set method.config.curvatureClip: true to clip F at 3',
    );
    // Momentum raises the bound (3 < 3.8 at 0.9); weight decay adds to the curvature; Nesterov lowers it.
    expect(guardCurvature(weights, 10, ['w'], ewcGuard(sgd(0.03, 0.9), 20))).toBe(weights);
    expect(() => guardCurvature(weights, 10, ['w'], ewcGuard(sgd(0.03, 0.9, { weightDecay: 40 }), 20))).toThrow(/\+ weightDecay 40/);
    expect(() => guardCurvature(weights, 10, ['w'], ewcGuard(sgd(0.03, 0.9, { nesterov: true }), 20))).toThrow(/\(Nesterov\) = 1.357/);
  });

  it("names SI's curvature 2 c * max Omega", () => {
    const guard: CurvatureGuard = {
      plugin: 'method si',
      strengthField: 'c',
      strength: 10,
      weightName: 'Omega',
      trainer: sgd(0.1),
      taskIndex: 1,
    };
    expect(() => guardCurvature([{ w: t(1) }], 10, ['w'], guard)).toThrow(/curvature is 2 \* c 10 \* max Omega 1 \(on 'w'\) = 20; /);
  });

  it('with clip, scales every anchor of an over-bound weight alike so the curvature is CLIP_SHARE of the bound', () => {
    const out = guardCurvature(weights, 20 / 2, ['w', 'b'], ewcGuard(sgd(0.03), 20, true));
    const cap = (CLIP_SHARE * 2) / 0.03 / 20; // summed F allowed: 3
    // w[0]: summed 3 = cap... 3 > 3 is false: kept. w[1]: summed 5 > 3: each anchor scaled by 3/5.
    expect(Array.from(out[0].w.data)).toEqual([1, Math.fround((2 * cap) / 5)]);
    expect(Array.from(out[1].w.data)).toEqual([2, Math.fround((3 * cap) / 5)]);
    expect(out[0].b).toBe(weights[0].b);
    expect(Array.from(weights[0].w.data)).toEqual([1, 2]); // the state is not changed
    const summed = out[0].w.data[1] + out[1].w.data[1];
    expect(0.03 * 20 * summed).toBeCloseTo(CLIP_SHARE * 2, 5);
  });

  it('quadraticPenalty feeds the clipped weights, and the unchanged ones without a guard', () => {
    const anchors = [{ inputs: namespace('ewc').inputs.sub(0), weights: { w: t(100, 1) }, anchor: { w: t(0, 0) } }];
    const plain = quadraticPenalty(anchors, 0.5, ['w']);
    expect(plain.tensors!['ewc.0.weight.w']).toBe(anchors[0].weights.w);
    const guarded = quadraticPenalty(anchors, 0.5, ['w'], ewcGuard(sgd(0.1), 1, true));
    expect(Array.from(guarded.tensors!['ewc.0.weight.w'].data)).toEqual([Math.fround(18), 1]); // 0.9 * 2 / 0.1 / 1
    expect(() => quadraticPenalty(anchors, 0.5, ['w'], ewcGuard(sgd(0.1), 1))).toThrow(/lambda 1 \* max F 100/);
  });
});
