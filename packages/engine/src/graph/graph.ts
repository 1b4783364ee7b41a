import {
  DATA_TYPE,
  encodeModel,
  IR_VERSION,
  OPSET,
  type AttributeValue,
  type DType,
  type GraphProtoObject,
  type ValueInfo,
} from '../onnx/proto';
import { encodeTensorData, type ConstantValues } from '../onnx/tensor-data';
import { Tensor, type Attr, type Dim, type Op } from './tensor';
import { numel } from '../tensor';

export type { Attr, Op } from './tensor';

/** A node as the graph keeps it: an Op whose outputs point back to it. */
interface Node extends Op {
  readonly inputs: (Tensor | undefined)[];
  readonly outputs: Tensor[];
  readonly attrs: Record<string, Attr>;
}

/** One thing created in a graph, in creation order: what `rewrite` replays. */
type Created =
  | { kind: 'input' | 'param' | 'outer'; tensor: Tensor }
  | { kind: 'constant'; tensor: Tensor; values: ConstantValues }
  | { kind: 'node'; node: Node };

/** Opset version declared for each non-default domain a node may use. */
const DOMAIN_VERSIONS: Record<string, number> = { 'com.microsoft': 1 };

/**
 * Builds one ONNX graph. Ops (in ./ops) add nodes through `node()`; `gradients()` appends the
 * backward nodes; `toBytes()` serializes only what the outputs need (ORT runs every node it is given).
 */
export class Graph {
  private readonly names = new Set<string>();
  private readonly inputs: Tensor[] = [];
  private readonly constants: { tensor: Tensor; values: ConstantValues }[] = [];
  private readonly constantCache = new Map<string, Tensor>();
  private readonly nodes: Node[] = [];
  private readonly created: Created[] = [];
  private readonly outputs: Tensor[] = [];
  private nextId = 0;

  /**
   * The element type `matmul` multiplies float32 operands in (mixed precision: float16 or
   * bfloat16 products, cast back to float32); float32 by default. A step graph sets it for its
   * training step (StepGraphSpec.mixedPrecision).
   */
  matmulPrecision: 'float32' | 'float16' | 'bfloat16' = 'float32';

  /** `prefix` starts every generated value name: a subgraph needs names its outer graph does not use. */
  constructor(
    readonly name: string,
    private readonly prefix = '',
  ) {}

  /** A graph input fed at run time (a batch, a learning rate, a penalty's anchor values...). */
  input(name: string, dims: Dim[], dtype: 'float32' | 'int64' | 'float64' = 'float32'): Tensor {
    return this.addInput(name, dims, dtype, 'input');
  }

  /**
   * A value of the enclosing graph that this subgraph reads by name (ONNX outer-scope reference):
   * usable like an input, but not one of this graph's declared inputs.
   */
  outer(name: string, dims: Dim[], dtype: DType = 'float32'): Tensor {
    this.claim(name);
    const t = new Tensor(this, name, [...dims], dtype, 'input');
    this.created.push({ kind: 'outer', tensor: t });
    return t;
  }

  /** A graph input that gradients can be taken against: a model parameter. */
  param(name: string, dims: number[], dtype: 'float32' | 'float64' = 'float32'): Tensor {
    return this.addInput(name, dims, dtype, 'param');
  }

  /**
   * A constant (an initializer). The dtype follows the array type unless given; int4 values are
   * given one per element (in [-8, 7]) and packed on serialization. Small constants are shared.
   */
  constant(values: ConstantValues, dims: number[], dtype?: DType): Tensor {
    const type = dtype ?? defaultDType(values);
    const n = numel(dims);
    if (values.length !== n) {
      throw new Error(`constant: dims [${dims.join(', ')}] need ${n} values, got ${values.length}`);
    }
    const key = n <= 16 ? `${type}|${dims.join(',')}|${Array.from(values as ArrayLike<number | bigint>).join(',')}` : undefined;
    const cached = key === undefined ? undefined : this.constantCache.get(key);
    if (cached) return cached;
    const t = new Tensor(this, this.freshName('const'), [...dims], type, 'constant');
    this.constants.push({ tensor: t, values });
    this.created.push({ kind: 'constant', tensor: t, values });
    if (key !== undefined) this.constantCache.set(key, t);
    return t;
  }

  /** A scalar constant of the given dtype. */
  scalar(value: number, dtype: DType): Tensor {
    return this.constant(dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : [value], [], dtype);
  }

  /**
   * Appends one node with a single output. Ops call this; it does not attach gradients. `domain`
   * selects a non-standard operator set (only 'com.microsoft', ORT's contrib ops, is known).
   */
  node(
    opType: string,
    inputs: (Tensor | undefined)[],
    out: { dims: Dim[]; dtype: DType },
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Tensor {
    if (domain && !(domain in DOMAIN_VERSIONS))
      throw new Error(`${opType}: unknown operator domain '${domain}'; known: ${Object.keys(DOMAIN_VERSIONS).join(', ')}`);
    return this.addNode(opType, inputs, [out], attrs, domain)[0];
  }

  /** Appends one node with several outputs (e.g. MaxPool's values and indices); no gradients attached. */
  nodeOutputs(
    opType: string,
    inputs: (Tensor | undefined)[],
    outs: { dims: Dim[]; dtype: DType }[],
    attrs: Record<string, Attr> = {},
  ): Tensor[] {
    return this.addNode(opType, inputs, outs, attrs, '');
  }

  /** Declares a graph output. A node output is renamed in place, so no Identity copy is added. */
  output(name: string, t: Tensor): void {
    if (t.graph !== this) throw new Error(`output '${name}': tensor ${t} belongs to graph '${t.graph.name}'`);
    if (t.kind === 'node' && !this.outputs.includes(t)) {
      this.rename(t, name);
      this.outputs.push(t);
      return;
    }
    // Inputs, constants and already-exported values need a node to carry a second name.
    const copy = this.node('Identity', [t], { dims: t.dims, dtype: t.dtype });
    this.rename(copy, name);
    this.outputs.push(copy);
  }

  /** The serialized ModelProto (IR 10, opset 21), holding only nodes and constants the outputs need. */
  toBytes(metadata: Record<string, string> = {}): Uint8Array {
    const graph = this.toGraphProto();
    const domains = this.domains().filter((d) => d !== '');
    return encodeModel({
      ir_version: IR_VERSION,
      producer_name: 'retain-engine',
      opset_import: [{ domain: '', version: OPSET }, ...domains.map((domain) => ({ domain, version: DOMAIN_VERSIONS[domain] }))],
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph,
    });
  }

  /** The GraphProto: this graph alone (a subgraph is embedded in its node's attribute this way). */
  toGraphProto(): GraphProtoObject {
    if (this.outputs.length === 0) throw new Error(`graph '${this.name}' has no outputs: call output() first`);
    const live = this.liveNodes();
    const used = new Set<Tensor>();
    for (const n of live) for (const t of n.inputs) if (t) used.add(t);
    return {
      name: this.name,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
      initializer: this.constants
        .filter((c) => used.has(c.tensor))
        .map((c) => encodeTensorData(c.tensor.name, c.tensor.dims as number[], c.tensor.dtype, c.values)),
      node: live.map((n, i) => ({
        name: `${this.prefix}${n.type}_${i}`,
        op_type: n.type,
        ...(n.domain ? { domain: n.domain } : {}),
        input: n.inputs.map((t) => (t ? t.name : '')),
        output: n.outputs.map((t) => t.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v, this.constants)),
      })),
    };
  }

  /** Operator domains the live nodes use. */
  domains(): string[] {
    return [...new Set(this.liveNodes().flatMap((n) => [n.domain, ...subgraphDomains(n)]))];
  }

  /**
   * A copy of this graph, rebuilt in creation order, in which `replace` may stand in for nodes: it
   * gets each single-output node, with its inputs already copied, and returns the tensor that
   * takes the node's place, built in `into` there and then; or undefined to copy the node as it
   * is. Names, constants and their order come out as if the replacements had been written in
   * place (an export rewrites a forward the model wrote with plain ops). Call it before declaring
   * outputs; gradient rules are not copied. `copied` maps a value of this graph to its copy.
   */
  rewrite(
    name: string,
    replace: (op: Op, inputs: (Tensor | undefined)[], into: Graph) => Tensor | undefined,
  ): { graph: Graph; copied: (t: Tensor) => Tensor } {
    if (this.outputs.length) throw new Error(`graph '${this.name}': rewrite it before declaring outputs`);
    const into = new Graph(name, this.prefix);
    const copies = new Map<Tensor, Tensor>();
    const copied = (t: Tensor): Tensor => {
      const c = copies.get(t);
      if (!c) throw new Error(`rewrite: ${t} is not a value of graph '${this.name}'`);
      return c;
    };
    for (const c of this.created) {
      if (c.kind === 'node') {
        const n = c.node;
        const inputs = n.inputs.map((t) => t && copied(t));
        const replaced = n.outputs.length === 1 ? replace(n, inputs, into) : undefined;
        const outs = replaced ? [replaced] : into.addNode(n.type, inputs, n.outputs, copyAttrs(n.attrs, copied), n.domain);
        n.outputs.forEach((t, i) => copies.set(t, outs[i]));
      } else {
        const t = c.tensor;
        const copy =
          c.kind === 'constant'
            ? into.constant(c.values, t.dims as number[], t.dtype)
            : c.kind === 'outer'
              ? into.outer(t.name, t.dims, t.dtype)
              : into.addInput(t.name, t.dims, t.dtype, c.kind);
        copies.set(t, copy);
      }
    }
    return { graph: into, copied };
  }

  private liveNodes(): Node[] {
    const needed = new Set<Op>();
    const stack = [...this.outputs];
    while (stack.length) {
      const node = stack.pop()!.op;
      if (!node || needed.has(node)) continue;
      needed.add(node);
      for (const t of node.inputs) if (t) stack.push(t);
    }
    return this.nodes.filter((n) => needed.has(n)); // creation order is a topological order
  }

  private addNode(
    opType: string,
    inputs: (Tensor | undefined)[],
    outs: { dims: Dim[]; dtype: DType }[],
    attrs: Record<string, Attr>,
    domain: string,
  ): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) throw new Error(`${opType}: input ${t} belongs to graph '${t.graph.name}', not '${this.name}'`);
    }
    const outputs = outs.map((o) => new Tensor(this, this.freshName(opType), o.dims, o.dtype, 'node'));
    const node: Node = { type: opType, inputs, outputs, attrs, domain, index: this.nodes.length };
    this.nodes.push(node);
    this.created.push({ kind: 'node', node });
    for (const t of outputs) t.op = node;
    return outputs;
  }

  private addInput(name: string, dims: Dim[], dtype: DType, kind: 'input' | 'param'): Tensor {
    this.claim(name);
    const t = new Tensor(this, name, [...dims], dtype, kind);
    this.inputs.push(t);
    this.created.push({ kind, tensor: t });
    return t;
  }

  private rename(t: Tensor, name: string): void {
    this.claim(name);
    this.names.delete(t.name);
    t.name = name;
  }

  private claim(name: string): void {
    if (!name) throw new Error(`graph '${this.name}': a value name must not be empty`);
    if (this.names.has(name)) throw new Error(`graph '${this.name}': the name '${name}' is already used; pick another`);
    this.names.add(name);
  }

  private freshName(hint: string): string {
    let name: string;
    do name = `${this.prefix}_${hint}_${this.nextId++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }
}

function subgraphDomains(n: Node): string[] {
  return Object.values(n.attrs).flatMap((v) => (typeof v === 'object' && v !== null && 'graph' in v ? v.graph.domains() : []));
}

function copyAttrs(attrs: Record<string, Attr>, copied: (t: Tensor) => Tensor): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs))
    out[k] = typeof v === 'object' && !Array.isArray(v) && 'tensor' in v ? { tensor: copied(v.tensor) } : v;
  return out;
}

function defaultDType(values: ConstantValues): DType {
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof BigInt64Array) return 'int64';
  if (values instanceof Int8Array) return 'int8';
  if (values instanceof Uint8Array) return 'uint8';
  return 'float32';
}

function valueInfo(t: Tensor): ValueInfo {
  return {
    name: t.name,
    type: {
      tensor_type: {
        elem_type: DATA_TYPE[t.dtype],
        shape: { dim: t.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : d.startsWith('?') ? {} : { dim_param: d })) },
      },
    },
  };
}

// AttributeProto.AttributeType codes
const FLOAT = 1,
  INT = 2,
  STRING = 3,
  TENSOR = 4,
  GRAPH = 5,
  INTS = 7;

function attribute(name: string, v: Attr, constants: { tensor: Tensor; values: ConstantValues }[]): AttributeValue {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute '${name}': ${v} is not an integer; wrap floats as { float: x }`);
    return { name, type: INT, i: v };
  }
  if (typeof v === 'string') return { name, type: STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: INTS, ints: v };
  if ('float' in v) return { name, type: FLOAT, f: v.float };
  if ('graph' in v) return { name, type: GRAPH, g: v.graph.toGraphProto() };
  const c = constants.find((x) => x.tensor === v.tensor);
  if (!c) throw new Error(`attribute '${name}': tensor attributes must be graph constants`);
  return { name, type: TENSOR, t: encodeTensorData('', c.tensor.dims as number[], c.tensor.dtype, c.values) };
}
