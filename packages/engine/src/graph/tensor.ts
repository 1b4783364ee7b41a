import type { DType } from '../onnx/proto';
import type { Graph } from './graph';

/** A dimension: a size, or a symbolic name such as 'B' (batch). Names starting with '?' are unknown sizes. */
export type Dim = number | string;

/**
 * Node attributes: integers, integer lists, strings, floats (`{ float }`), tensors (`{ tensor }`)
 * or subgraphs (`{ graph }`: a Scan or Loop body, built as its own Graph).
 */
export type Attr = number | number[] | string | { float: number } | { tensor: Tensor } | { graph: Graph };

/**
 * The ONNX node that produced a tensor (micrograd's `_op`): what a pass over a built graph reads
 * to recognise a layer, instead of guessing from generated names.
 */
export interface Op {
  readonly type: string;
  readonly inputs: readonly (Tensor | undefined)[]; // undefined = an omitted optional input
  readonly outputs: readonly Tensor[];
  readonly attrs: Readonly<Record<string, Attr>>;
  /** Operator set domain; '' is the default ONNX domain, e.g. 'com.microsoft' for ORT contrib ops. */
  readonly domain: string;
  /** Its position among the graph's nodes: creation order, which is a topological order. */
  readonly index: number;
}

/** Sends the gradient of the loss w.r.t. an op's output to one of its inputs. */
export type GradRule = (grad: Tensor) => Tensor;

/**
 * A value in a Graph: a graph input, a parameter, a constant or a node output. A node output
 * knows the op that produced it (`op`). Differentiable tensors remember their parents and, for
 * each parent, the rule that maps the output's gradient to that parent's gradient (micrograd's
 * `_backward`, one closure per input so the autodiff walk builds only the gradients it needs).
 */
export class Tensor {
  parents: Tensor[] = [];
  gradRules: (GradRule | undefined)[] = [];
  /** The producing node; set by the Graph for node outputs, absent for inputs, params and constants. */
  op?: Op;

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
