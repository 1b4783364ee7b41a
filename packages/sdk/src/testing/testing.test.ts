import { z } from 'zod';
import { mul, quantizeRtn, square, sum, withGrad, type Graph, type Tensor } from '@retain/engine';
import { definePlugin, type MethodTraining } from '../plugin';
import { checkMethod, checkQuantizer, ConformanceError } from './index';

/** The kit must catch what it claims to: each plugin here breaks one contract. */

const l2Method = (squared: (g: Graph, x: Tensor) => Tensor, extra: Partial<MethodTraining> = {}) =>
  definePlugin({
    kind: 'method',
    name: 'l2',
    version: '0',
    description: 'an L2 penalty on the trunk',
    configSchema: z.strictObject({ strength: z.number().default(0.5) }),
    training: ({ config }: { config: { strength: number } }): MethodTraining => ({
      ...extra,
      step: { lossTerm: ({ g, params }) => mul(sum(squared(g, params['trunk.0.weight'])), config.strength) },
    }),
  });

/** square(x) whose backward rule claims d/dx = 1 instead of 2x. */
const wrongSquare = (g: Graph, x: Tensor) => {
  const y = square(x);
  return withGrad(g.node('Identity', [y], { dims: y.dims, dtype: 'float32' }), [x], [(grad) => grad]);
};

const failuresOf = async (check: Promise<unknown>) => {
  const error = await check.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConformanceError);
  return (error as ConformanceError).failures;
};

describe('checkMethod', () => {
  it('passes a correct penalty, checking its gradient on every task', async () => {
    const report = await checkMethod(l2Method((_g, x) => square(x)));
    expect(report.passed).toEqual(
      expect.arrayContaining([
        'gradient of the loss terms (task 0)',
        'gradient of the loss terms (task 1)',
        'determinism: same seed, same run',
      ]),
    );
  });

  it('catches a loss term whose graph gradient is wrong', async () => {
    const failures = await failuresOf(checkMethod(l2Method(wrongSquare)));
    expect(failures).toEqual([
      expect.stringMatching(
        /^gradient of the loss terms \(task 0\): trunk\.0\.weight\[\d+\]: the step graph's gradient is .*finite differences give/,
      ),
      expect.stringMatching(/^gradient of the loss terms \(task 1\)/),
    ]);
  });

  it('catches a method that is not a function of its seed', async () => {
    const random = definePlugin({
      ...l2Method((_g, x) => square(x)),
      training: (): MethodTraining => ({ lrScale: 0.5 + Math.random() }),
    });
    const failures = await failuresOf(checkMethod(random));
    expect(failures).toEqual([
      expect.stringMatching(/^determinism: same seed, same run: 0\.losses\.1: /),
      expect.stringMatching(/^checkpoint-resume: /),
    ]);
  });

  it('catches a config that lets unknown keys through', async () => {
    const loose = { ...l2Method((_g, x) => square(x)), configSchema: z.object({ strength: z.number().default(0.5) }) };
    const failures = await failuresOf(checkMethod(loose));
    expect(failures).toEqual([
      expect.stringMatching(
        /plus an unknown key is rejected, naming it: 'conformanceUnknownKey' was accepted: build the schema with z\.strictObject/,
      ),
    ]);
  });
});

describe('checkQuantizer', () => {
  it('catches a quantizer that changes the params it is given', async () => {
    const meddling = definePlugin({
      kind: 'quantizer',
      name: 'meddling',
      version: '0',
      description: 'quantizes in place',
      configSchema: z.strictObject({}),
      quantize: async ({ params }) => {
        const w = params['trunk.0.weight'];
        const weights = { 'trunk.0.weight': quantizeRtn(w, { bits: 8, symmetric: true, granularity: 'per-channel' }) };
        w.data.fill(0);
        return { weights };
      },
    });
    const failures = await failuresOf(checkQuantizer(meddling));
    expect(failures).toEqual([
      expect.stringMatching(/^leaves the params it was given unchanged: trunk\.0\.weight\.data\[0\]/),
      expect.stringMatching(/^determinism: same seed, same quantized weights/),
    ]);
  });
});
