import { GraphSession, TrainSession } from './runtime';
import { initOptimizerState } from './optim';
import { initParams, mlp } from './models';
import { decodeModel, DATA_TYPE } from './onnx/proto';
import { Rng } from './rng';
import { buildStepGraph, type StepGraphSpec } from './step';

/**
 * Mixed precision as the step graph builds it: float16 or bfloat16 matrix products, float32
 * everything else. onnxruntime's CPU provider multiplies float16 in float32 (its graph optimizer
 * drops the casts; measured: 1 + 2^-12 survives a "float16" product) and has no bfloat16 MatMul. What float16 and bfloat16 do to training needs a
 * GPU provider (test/bench/gpu-check.sh); here: the graph's structure and the loss scale's arithmetic.
 */
describe('mixed-precision step graphs', () => {
  const model = mlp({ inputSize: 32, hidden: [64, 64], classesPerHead: 10, heads: 1 });
  const rng = new Rng(3);
  const batches = Array.from({ length: 10 }, () => ({
    x: Float32Array.from({ length: 16 * 32 }, () => rng.normal()),
    y: Int32Array.from({ length: 16 }, () => rng.int(10)),
  }));

  async function train(spec: Partial<StepGraphSpec>): Promise<{ losses: number[]; weights: Float32Array }> {
    const optimizer = { name: 'adam' as const };
    const step = buildStepGraph({ model, head: 0, optimizer, ...spec });
    const session = await TrainSession.create(step, { ...initParams(model, 0), ...initOptimizerState(optimizer, model.params) });
    try {
      const losses = [];
      for (const b of batches) losses.push(await session.step(b.x, b.y, 16, 0.01));
      return { losses, weights: (await session.read())['trunk.0.weight']!.data };
    } finally {
      await session.close();
    }
  }

  test.each(['float16', 'bfloat16'] as const)(
    '%s: every MatMul of forward and backward multiplies operands cast to it and returns float32',
    (low) => {
      const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, mixedPrecision: { matmul: low } });
      const nodes = decodeModel(step.bytes).graph.node;
      const castTo = new Map(nodes.filter((n) => n.op_type === 'Cast').map((n) => [n.output[0], n.attribute?.[0]?.i]));
      const matmuls = nodes.filter((n) => n.op_type === 'MatMul');
      // 3 layers: 3 products forward, 3 weight gradients and 2 input gradients backward.
      expect(matmuls).toHaveLength(8);
      for (const m of matmuls) {
        expect(m.input.map((i) => castTo.get(i))).toEqual([DATA_TYPE[low], DATA_TYPE[low]]);
        expect(nodes.some((n) => n.op_type === 'Cast' && n.input[0] === m.output[0] && n.attribute?.[0]?.i === DATA_TYPE.float32)).toBe(
          true,
        );
      }
      const plain = decodeModel(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' } }).bytes).graph.node;
      const lowCasts = (ns: typeof nodes) => ns.filter((n) => n.op_type === 'Cast' && n.attribute?.[0]?.i === DATA_TYPE[low]);
      expect(lowCasts(nodes)).toHaveLength(16);
      expect(lowCasts(plain)).toHaveLength(0);
    },
  );

  test('the float16 loss scale divides back out exactly: where products are float32 (the CPU), the step is float32 bit for bit', async () => {
    const full = await train({});
    for (const lossScale of [1, 1024, 2 ** 16]) {
      const half = await train({ mixedPrecision: { matmul: 'float16', lossScale } });
      expect(half.losses).toEqual(full.losses);
      expect(Buffer.from(half.weights.buffer).equals(Buffer.from(full.weights.buffer))).toBe(true);
    }
  });

  test('bfloat16 graphs build, and the CPU provider refuses them: they need a GPU provider', async () => {
    const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, mixedPrecision: { matmul: 'bfloat16' } });
    await expect(GraphSession.create(step.bytes)).rejects.toThrow(/MatMul/);
  });
});
