import { InferenceSession, TrainSession } from '../runtime';
import { quantizeRtn } from '../quant';
import { Rng } from '../rng';
import { buildEvalGraph, buildStepGraph } from '../step';
import { frozenValues, withFrozenCodes, type FrozenWeight } from './frozen-codes';
import { initParams } from './init';
import { mlp } from './mlp';

/** A weight frozen as 4-bit codes computes, dequantized in the graph, what its float values compute. */
describe('withFrozenCodes', () => {
  const model = mlp({ inputSize: 6, hidden: [5], classesPerHead: 3, heads: 1 });
  const params = initParams(model, 1);
  const name = 'trunk.0.weight';
  const rng = new Rng(4);
  const levels = Float32Array.from({ length: 16 }, (_, k) => -1 + (2 * k) / 15);
  const frozen: Record<string, FrozenWeight> = {
    rtn: { kind: 'codes', weight: quantizeRtn(params[name]!, { bits: 4, granularity: 'block', blockSize: 4, symmetric: true }) },
    levels: {
      kind: 'levels',
      dims: [6, 5],
      levels,
      codes: Uint8Array.from({ length: 30 }, () => rng.int(16)),
      blockSize: 4, // 6 rows: a full block and a ragged one
      absmax: Float32Array.from({ length: 2 * 5 }, () => 0.1 + rng.float()),
    },
  };
  const x = Float32Array.from({ length: 2 * 6 }, () => rng.normal());

  test.each(Object.keys(frozen))('%s codes: the same logits as the plain model fed their values, bit for bit', async (kind) => {
    const f = frozen[kind]!;
    const values = { ...params, [name]: { dims: [6, 5], data: frozenValues(f) } };
    const plain = await InferenceSession.create(buildEvalGraph(model, 0), values);
    const { [name]: _weight, ...rest } = params;
    const coded = await InferenceSession.create(buildEvalGraph(withFrozenCodes(model, { [name]: f }), 0), rest);
    try {
      expect(Array.from((await coded.run(x, 2)).logits)).toEqual(Array.from((await plain.run(x, 2)).logits));
    } finally {
      await Promise.all([plain.close(), coded.close()]);
    }
  });

  test('a frozen weight is no param: the step trains the others and feeds it nothing', async () => {
    const coded = withFrozenCodes(model, { [name]: frozen.rtn! });
    expect(coded.params.map((p) => p.name)).not.toContain(name);
    expect(coded.paramsForHead(0)).toEqual(model.paramsForHead(0).filter((n) => n !== name));
    const { [name]: _weight, ...rest } = params;
    const session = await TrainSession.create(buildStepGraph({ model: coded, head: 0, optimizer: { name: 'sgd' } }), rest);
    try {
      const loss = await session.step(x, Int32Array.from([0, 2]), 2, 0.1);
      expect(Number.isFinite(loss)).toBe(true);
      const after = await session.read();
      expect(Object.keys(after).sort()).toEqual(Object.keys(rest).sort());
      expect(Array.from(after['head.0.weight']!.data)).not.toEqual(Array.from(rest['head.0.weight']!.data));
    } finally {
      await session.close();
    }
  });

  test('codes of another shape, or of a weight the model lacks, are refused', () => {
    expect(() => withFrozenCodes(model, { 'trunk.9.weight': frozen.rtn! })).toThrow("has no parameter 'trunk.9.weight'");
    expect(() => withFrozenCodes(model, { 'head.0.weight': frozen.rtn! })).toThrow("'head.0.weight' is [5, 3], its codes are [6, 5]");
  });
});
