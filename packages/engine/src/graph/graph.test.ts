import { decodeModel } from '../onnx/proto';
import { GraphSession } from '../runtime/graph-session';
import { mlp } from '../models';
import { buildStepGraph } from '../step';
import { Graph } from './graph';
import { add, argmax, matmul, mul, relu } from './ops';
import type { Tensor } from './tensor';

describe('Graph serialization', () => {
  test('declares IR 10 / opset 21, symbolic dims, and renames node outputs instead of adding Identity', () => {
    const g = new Graph('g');
    const x = g.input('x', ['B', 3]);
    const w = g.param('w', [3, 2]);
    const y = relu(matmul(x, w));
    g.output('y', y);
    g.output('x.copy', x); // a graph input needs a node to carry a second name
    const m = decodeModel(g.toBytes());
    expect(m.ir_version).toBe(10);
    expect(m.opset_import.map((o) => [o.domain ?? '', o.version])).toEqual([['', 21]]); // proto3 omits the empty default domain
    expect(m.graph.input.map((i) => i.name)).toEqual(['x', 'w']);
    expect(m.graph.input[0].type.tensor_type.shape!.dim).toEqual([{ dim_param: 'B' }, { dim_value: 3 }]);
    expect(m.graph.node.map((n) => n.op_type)).toEqual(['MatMul', 'Relu', 'Identity']);
    expect(m.graph.node[1].output).toEqual(['y']);
    expect(m.graph.output.map((o) => o.name)).toEqual(['y', 'x.copy']);
  });

  test('nodes the outputs do not need are left out (onnxruntime would run them all)', () => {
    const g = new Graph('prune');
    const x = g.input('x', [2]);
    add(x, 5); // dead
    g.output('y', add(x, 1));
    const m = decodeModel(g.toBytes());
    expect(m.graph.node).toHaveLength(1);
    expect(m.graph.initializer).toHaveLength(1);
  });

  test('the training step graph has no Identity copies', () => {
    const step = buildStepGraph({
      model: mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 }),
      head: 0,
      optimizer: { name: 'adam' },
    });
    const m = decodeModel(step.bytes);
    expect(m.graph.node.filter((n) => n.op_type === 'Identity')).toHaveLength(0);
    expect(m.graph.output.map((o) => o.name)).toContain('new.adam.t');
  });

  test('building the same graph twice gives identical bytes (models are content-addressed)', () => {
    const build = () =>
      buildStepGraph({
        model: mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 2 }),
        head: 1,
        optimizer: { name: 'sgd', momentum: 0.9 },
      }).bytes;
    expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
  });

  test('name clashes and cross-graph use are errors that name the value', () => {
    const g = new Graph('a');
    g.input('x', [1]);
    expect(() => g.param('x', [1])).toThrow(/name 'x' is already used/);
    const other = new Graph('b').input('z', [1]);
    expect(() => add(g.input('y', [1]), other)).toThrow(/different graphs/);
    expect(() => matmul(g.input('m', [2, 3]), g.param('n', [4, 2]))).toThrow(/inner dimensions differ/);
    expect(() => add(g.input('p', [2, 3]), g.input('q', [4]))).toThrow(/do not broadcast/);
  });

  test('argmax picks the index of the largest value per row (int64)', async () => {
    const g = new Graph('argmax');
    const x = g.input('x', ['B', 3]);
    g.output('i', argmax(x, 1));
    const s = await GraphSession.create(g.toBytes());
    const out = await s.run({ x: { dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 5, 2, 9, 0, -1]) } });
    await s.close();
    expect(out.i.dtype).toBe('int64');
    expect(Array.from(out.i.data as BigInt64Array)).toEqual([1n, 0n]);
  });
});

describe('Graph.rewrite', () => {
  // x @ w, + c, relu, then a sum with a scaled copy: constants and nodes on both sides of the MatMul.
  function build(g: Graph, product: (x: Tensor, w: Tensor) => Tensor): Tensor {
    const x = g.input('x', ['B', 3]);
    const w = g.constant([1, 2, 3, 4, 5, 6], [3, 2]);
    const y = relu(add(product(x, w), g.constant([0.5, -0.5], [2])));
    return add(y, mul(y, 3));
  }
  const scaledMatMul = (x: Tensor, w: Tensor) => matmul(mul(x, 2), w);

  test('a copy with a node replaced is byte for byte the graph written with the replacement in place', () => {
    const source = new Graph('g');
    const out = build(source, matmul);
    const { graph, copied } = source.rewrite('g', (op, [x, w]) => (op.type === 'MatMul' ? scaledMatMul(x!, w!) : undefined));
    graph.output('y', copied(out));
    const direct = new Graph('g');
    direct.output('y', build(direct, scaledMatMul));
    expect(Buffer.from(graph.toBytes()).equals(Buffer.from(direct.toBytes()))).toBe(true);
    // and without replacements, a copy is the source itself
    const plain = new Graph('g');
    const plainOut = build(plain, matmul);
    const copy = plain.rewrite('g', () => undefined);
    copy.graph.output('y', copy.copied(plainOut));
    plain.output('y', plainOut);
    expect(Buffer.from(copy.graph.toBytes()).equals(Buffer.from(plain.toBytes()))).toBe(true);
  });

  test('records the op on every node output; refuses a graph whose outputs are declared', () => {
    const g = new Graph('g');
    const x = g.input('x', [2, 3]);
    const y = relu(matmul(x, g.constant([1, 2, 3, 4, 5, 6], [3, 2])));
    expect(y.op).toMatchObject({ type: 'Relu', attrs: {}, domain: '' });
    expect(y.op!.inputs[0]!.op!.type).toBe('MatMul');
    expect(x.op).toBeUndefined();
    g.output('y', y);
    expect(() => g.rewrite('copy', () => undefined)).toThrow(/before declaring outputs/);
  });
});
