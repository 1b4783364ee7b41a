import { Rng } from '../../rng';
import { GraphSession } from '../../runtime/graph-session';
import { Graph } from '../graph';
import { conv2d, convTranspose2d, type ConvTranspose2dOptions } from './conv';
import { numel } from '../../tensor';

// The gradcheck proves convTranspose2d's gradients match its own forward; these prove the forward
// is PyTorch's ConvTranspose2d: the adjoint of conv2d with the same weight and options.

const random = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => 2 * rng.float() - 1);
const size = (dims: number[]) => numel(dims);

async function run(build: (g: Graph) => void, feeds: Record<string, { dims: number[]; data: Float32Array }>) {
  const g = new Graph('conv-transpose');
  build(g);
  const session = await GraphSession.create(g.toBytes());
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dtype: 'float32', ...v }])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.close();
  }
}

describe('convTranspose2d', () => {
  test('a stride-2 transposed convolution pastes one scaled kernel per input pixel (hand-computed)', async () => {
    // x = [[1, 2], [3, 4]], kernel [[1, 10], [100, 1000]], stride 2: four disjoint 2x2 tiles.
    const { y } = await run(
      (g) => g.output('y', convTranspose2d(g.input('x', [1, 1, 2, 2]), g.param('w', [1, 1, 2, 2]), undefined, { stride: 2 })),
      {
        x: { dims: [1, 1, 2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        w: { dims: [1, 1, 2, 2], data: Float32Array.from([1, 10, 100, 1000]) },
      },
    );
    expect(Array.from(y)).toEqual([1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000]);
  });

  test.each<[string, number[], number[], ConvTranspose2dOptions]>([
    ['plain', [2, 3, 4, 4], [3, 2, 3, 3], {}],
    ['stride 2, padding 1, outputPadding 1', [2, 2, 3, 5], [2, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    ['dilation 2, stride 3, outputPadding 2', [1, 2, 3, 3], [2, 2, 2, 3], { dilation: 2, stride: 3, outputPadding: 2 }],
    ['groups 2', [2, 4, 3, 3], [4, 3, 2, 2], { groups: 2, stride: 2, padding: 1 }],
  ])('is the adjoint of conv2d with the same weight (%s): <convT(x), u> = <x, conv(u)>', async (_name, xDims, wDims, opts) => {
    const rng = new Rng(11);
    const probe = new Graph('shape');
    const uDims = convTranspose2d(probe.input('x', xDims), probe.param('w', wDims), undefined, opts).dims as number[];
    const x = random(size(xDims), rng);
    const w = random(size(wDims), rng);
    const u = random(size(uDims), rng);
    const { t, c } = await run(
      (g) => {
        const wt = g.param('w', wDims);
        g.output('t', convTranspose2d(g.input('x', xDims), wt, undefined, opts));
        const { stride, padding, dilation, groups } = opts;
        g.output('c', conv2d(g.input('u', uDims), wt, undefined, { stride, padding, dilation, groups }));
      },
      { x: { dims: xDims, data: x }, w: { dims: wDims, data: w }, u: { dims: uDims, data: u } },
    );
    expect(c.length).toBe(x.length); // conv2d maps the transposed output's shape back to x's
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    const [left, right] = [dot(t, u), dot(x, c)];
    // float32 sums of a few hundred products: measured differences <= 1.4e-7 relative.
    expect(Math.abs(left - right)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(left)));
  });

  test('bad options name the field and the limit', () => {
    const g = new Graph('bad');
    const x = g.input('x', [1, 2, 3, 3]);
    expect(() => convTranspose2d(x, g.param('w', [2, 1, 3, 3]), undefined, { stride: 2, outputPadding: 2 })).toThrow(
      'convTranspose2d: outputPadding 2 must be smaller than the stride 2',
    );
    expect(() => convTranspose2d(x, g.param('v', [3, 1, 3, 3]))).toThrow('need weight axis 0 = C_in');
    expect(() => convTranspose2d(x, g.param('u', [2, 1, 3, 3]), g.param('b', [2]))).toThrow('bias must be [1]');
  });
});
