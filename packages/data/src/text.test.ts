import { ByteWindowSampleSet, loadText, textScenario, TextNotFoundError } from './text';

describe('text corpora', () => {
  test('loadText reads a Debian licence text once; windows are the bytes, labels the byte after', async () => {
    const gpl = await loadText('GPL-3');
    expect(await loadText('GPL-3')).toBe(gpl);
    expect(new TextDecoder().decode(gpl.subarray(0, 60))).toMatch(/GNU GENERAL PUBLIC LICENSE/);
    const set = new ByteWindowSampleSet(gpl, 8, 100, 200);
    expect(set.n).toBe(92);
    expect(set.inputDims).toEqual([8]);
    const x = set.gather([0, 91]);
    expect(Array.from(x.subarray(0, 8))).toEqual(Array.from(gpl.subarray(100, 108)));
    expect(Array.from(x.subarray(8))).toEqual(Array.from(gpl.subarray(191, 199)));
    expect(set.labels[91]).toBe(gpl[199]);
    expect(() => set.gather([92])).toThrow(/window 92.*outside 0\.\.91/);
  });

  test('textScenario: one task per text, the end of each held out, one 256-way head', async () => {
    const s = await textScenario({ sources: ['GPL-3', 'Apache-2.0'], context: 16, testFraction: 0.1 });
    expect(s).toMatchObject({ tasks: 2, heads: 1, classesPerHead: 256, inputDims: [16], taskNames: ['GPL-3', 'Apache-2.0'] });
    const apache = await loadText('Apache-2.0');
    const t = s.task(1);
    const cut = Math.floor(apache.length * 0.9);
    expect(t.train.n + t.test.n + 32).toBe(apache.length);
    expect(Array.from(t.test.gather([0]))).toEqual(Array.from(apache.subarray(cut, cut + 16)));
    expect((await textScenario({ sources: ['GPL-3', 'BSD'], context: 4, heads: 'per-task' })).heads).toBe(2);
  });

  test('a missing text names the file and how to get the corpus', async () => {
    await expect(loadText('NO-SUCH-LICENSE')).rejects.toThrow(TextNotFoundError);
    await expect(loadText('NO-SUCH-LICENSE')).rejects.toThrow(/NO-SUCH-LICENSE.*base-files.*RETAIN_TEXT_DIR/);
  });
});
