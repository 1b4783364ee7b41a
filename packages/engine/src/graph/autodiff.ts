import { add } from './ops/arith';
import { fillLike } from './ops/nondiff';
import type { Tensor } from './tensor';

/**
 * Reverse-mode autodiff: appends to the graph the nodes computing d(loss)/d(w) for each `wrt`.
 * Walks the tensors between `wrt` and `loss` in reverse topological order and applies each op's
 * own gradient rules, only for inputs that lead to some `wrt`. `loss` is usually a scalar; for
 * other shapes the seed gradient is all ones. A `wrt` the loss does not depend on gets zeros.
 */
export function gradients(loss: Tensor, wrt: Tensor[]): Tensor[] {
  const order = topologicalOrder(loss);
  const leadsToWrt = new Set<Tensor>(wrt);
  for (const t of order) if (t.parents.some((p) => leadsToWrt.has(p))) leadsToWrt.add(t);

  const grads = new Map<Tensor, Tensor>([[loss, fillLike(loss, 1)]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    if (!g) continue;
    t.parents.forEach((p, j) => {
      const rule = t.gradRules[j];
      if (!rule || !leadsToWrt.has(p)) return;
      const gp = rule(g);
      const prev = grads.get(p);
      grads.set(p, prev ? add(prev, gp) : gp);
    });
  }
  return wrt.map((w) => grads.get(w) ?? fillLike(w, 0));
}

/** Tensors reachable from `root` through parents, parents before children. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const p of t.parents) if (!seen.has(p)) stack.push([p, false]);
  }
  return order;
}
