import type { DType } from '../onnx/proto';
import type { Graph } from './graph';

/** A dimension: a size, or a symbolic name such as 'B' (batch). Names starting with '?' are unknown sizes. */
export type Dim = number | string;

/** Sends the gradient of the loss w.r.t. an op's output to one of its inputs. */
export type GradRule = (grad: Tensor) => Tensor;

/**
 * A value in a Graph: a graph input, a parameter, a constant or a node output. Differentiable
 * tensors remember their parents and, for each parent, the rule that maps the output's gradient
 * to that parent's gradient (micrograd's `_backward`, one closure per input so the autodiff
 * walk builds only the gradients it needs).
 */
export class Tensor {
  parents: Tensor[] = [];
  gradRules: (GradRule | undefined)[] = [];

  constructor(
    readonly graph: Graph,
    public name: string,
    readonly dims: Dim[],
    readonly dtype: DType,
    readonly kind: 'input' | 'param' | 'constant' | 'node',
  ) {}

  get rank(): number {
    return this.dims.length;
  }

  toString(): string {
    return `'${this.name}' [${this.dims.join(', ')}] ${this.dtype}`;
  }
}

/** Attaches the backward rules of a differentiable op to its output, aligned with `parents`. */
export function withGrad(out: Tensor, parents: Tensor[], rules: (GradRule | undefined)[]): Tensor {
  out.parents = parents;
  out.gradRules = rules;
  return out;
}
