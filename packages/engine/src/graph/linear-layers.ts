import type { Op, Tensor } from './tensor';

/**
 * A linear layer of a built graph: a MatMul whose right operand is a weight matrix [in, out], or
 * a Conv whose kernel is a weight. `op` is that node (its attributes give a Conv's window).
 */
export interface LinearLayer {
  op: Op & { type: 'MatMul' | 'Conv' };
  weight: Tensor;
  /** The activations the weight multiplies: the MatMul's left operand, the Conv's image. */
  input: Tensor;
  /** The node's output: the product, or the convolution (with its bias, when the Conv takes one). */
  output: Tensor;
  /**
   * The bias: a MatMul's `Add(output, bias)` right after it, when `bias` is one of the weights
   * (`added` is that sum); a Conv's third input (`added` is the Conv's output).
   */
  bias?: { value: Tensor; added: Tensor };
}

/**
 * The linear layers by `weights` that `outputs` are computed from, in the order the forward wrote
 * them: every MatMul whose right operand, and every Conv whose kernel, is one of `weights`. A
 * weight read twice gives two layers. Read from the ops the graph recorded on its tensors, so a
 * model's forward needs no hooks to be analysed.
 */
export function linearLayers(outputs: readonly Tensor[], weights: ReadonlySet<Tensor>): LinearLayer[] {
  const ops = new Set<Op>();
  const seen = new Set<Tensor>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.op) continue;
    seen.add(t);
    ops.add(t.op);
    for (const input of t.op.inputs) if (input) stack.push(input);
  }
  const layers = new Map<Tensor, LinearLayer>(); // by output
  for (const op of [...ops].sort((a, b) => a.index - b.index)) {
    const [input, weight, convBias] = op.inputs;
    if (isLayerOp(op) && input && weight && weights.has(weight)) {
      const output = op.outputs[0];
      const bias = op.type === 'Conv' && convBias ? { value: convBias, added: output } : undefined;
      layers.set(output, { op, weight, input, output, ...(bias && { bias }) });
    }
    // A bias add: Add(a layer's product, one of the weights).
    const [product, added] = op.inputs;
    const layer = op.type === 'Add' && product ? layers.get(product) : undefined;
    if (layer && layer.op.type === 'MatMul' && !layer.bias && added && weights.has(added)) {
      layer.bias = { value: added, added: op.outputs[0] };
    }
  }
  return [...layers.values()];
}

function isLayerOp(op: Op): op is Op & { type: 'MatMul' | 'Conv' } {
  return op.type === 'MatMul' || op.type === 'Conv';
}
