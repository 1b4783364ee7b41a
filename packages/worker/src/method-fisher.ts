import type { ParamSpec, TensorMap } from '@retain/engine';

/**
 * A method's Fisher diagonal by parameter, read from its state by name: every tensor named
 * 'fisher.<param>' (online EWC's running Fisher) or '<prefix>.fisher.<param>' (EWC's
 * 'ewc.<task>.fisher.<param>', one per task) counts, summed per parameter: the importance the
 * method's penalty weighs each parameter by, over every task it consolidated. Undefined when the
 * state has none (naive, replay, SI's 'omega', ...).
 */
export function methodFisherOf(state: TensorMap, params: readonly Pick<ParamSpec, 'name' | 'dims'>[]): TensorMap | undefined {
  const fisher: TensorMap = {};
  const names = Object.keys(state).sort(); // a fixed summation order, whatever order the state was written in
  for (const p of params) {
    const parts = names.filter((n) => n === `fisher.${p.name}` || n.endsWith(`.fisher.${p.name}`));
    if (!parts.length) continue;
    const sum = new Float32Array(state[parts[0]].data.length);
    for (const n of parts) {
      const t = state[n];
      if (t.dims.join() !== p.dims.join())
        throw new Error(`method state '${n}': dims [${t.dims.join(', ')}] differ from parameter '${p.name}' [${p.dims.join(', ')}]`);
      for (let i = 0; i < sum.length; i++) sum[i] += t.data[i];
    }
    fisher[p.name] = { dims: [...p.dims], data: sum };
  }
  return Object.keys(fisher).length ? fisher : undefined;
}
