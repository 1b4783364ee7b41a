import { textBytes } from './index';

describe('text-bytes benchmark plugin (Debian licence texts)', () => {
  it('one task per text, [context] byte windows, one shared 256-way head', async () => {
    const scenario = await textBytes.scenario(textBytes.configSchema.parse({ context: 16 }));
    expect(scenario).toMatchObject({
      tasks: 3,
      heads: 1,
      classesPerHead: 256,
      inputDims: [16],
      taskNames: ['GPL-3', 'Apache-2.0', 'MPL-2.0'],
    });
    const task = scenario.task(2);
    expect(task.train.n).toBeGreaterThan(8 * task.test.n); // 90% / 10%, less one window each
    expect(task.test.gather([0]).every((b) => Number.isInteger(b) && b >= 0 && b < 256)).toBe(true);
  });

  it('rejects an empty source list and a context of 0', () => {
    expect(textBytes.configSchema.safeParse({ sources: [] }).success).toBe(false);
    expect(textBytes.configSchema.safeParse({ context: 0 }).success).toBe(false);
  });
});
