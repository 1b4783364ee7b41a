import { add, mul, neg, numel, sub, type StepMethod, type TensorMap } from '@retain/engine';
import { si } from './names';

export const omegaName = (param: string) => si.inputs.name('omega', param);
export const deltaName = (param: string) => si.inputs.name('delta', param);

/**
 * SI's running sums, as step state updated by the step graph itself (so the trainer's
 * checkpoint holds them):
 *   omega_k += -g_k * (theta_k(t+1) - theta_k(t))   (path integral of the task-loss gradient)
 *   delta_k += theta_k(t+1) - theta_k(t)            (total displacement over the task)
 * g is the gradient of the task loss alone, as in the paper (not of the SI penalty).
 */
export function pathIntegral(trainable: string[], dims: (param: string) => number[], base: StepMethod = {}): StepMethod {
  const state: Record<string, number[]> = { ...(base.state ?? {}) };
  for (const p of trainable) {
    state[omegaName(p)] = dims(p);
    state[deltaName(p)] = dims(p);
  }
  return {
    ...base,
    state,
    stateUpdate: ({ taskGrads, params, updated, inputs }) => {
      const out: Record<string, ReturnType<typeof add>> = {};
      for (const p of trainable) {
        const moved = sub(updated[p], params[p]);
        out[omegaName(p)] = add(inputs[omegaName(p)], neg(mul(taskGrads[p], moved)));
        out[deltaName(p)] = add(inputs[deltaName(p)], moved);
      }
      return out;
    },
  };
}

/** Zeros for every running sum, the state a task starts from. */
export function zeroSums(trainable: string[], dims: (param: string) => number[]): TensorMap {
  const out: TensorMap = {};
  for (const p of trainable) {
    const d = dims(p);
    const n = numel(d);
    out[omegaName(p)] = { dims: d, data: new Float32Array(n) };
    out[deltaName(p)] = { dims: d, data: new Float32Array(n) };
  }
  return out;
}

/** Omega_k += omega_k / (delta_k^2 + xi), per param (the consolidated importance). */
export function accumulateImportance(importance: TensorMap, trained: TensorMap, trainable: string[], xi: number): TensorMap {
  const out: TensorMap = { ...importance };
  for (const p of trainable) {
    const omega = trained[omegaName(p)];
    const delta = trained[deltaName(p)];
    if (!omega || !delta)
      throw new Error(`SI: the trainer returned no path integral for '${p}'; was the task trained with SI's step state?`);
    const before = importance[p]?.data;
    out[p] = {
      dims: [...omega.dims],
      data: Float32Array.from(omega.data, (w, i) => (before ? before[i] : 0) + w / (delta.data[i] ** 2 + xi)),
    };
  }
  return out;
}
