import { loadOnce } from './load-once';

describe('loadOnce', () => {
  it('loads each key once, shares the promise, and tries again after a failure', async () => {
    const calls: string[] = [];
    let fail = true;
    const load = loadOnce(async (key: string) => {
      calls.push(key);
      if (key === 'b' && fail) throw new Error('not installed yet');
      return key.toUpperCase();
    });
    expect(load('a')).toBe(load('a'));
    expect(await load('a')).toBe('A');
    await expect(load('b')).rejects.toThrow('not installed yet');
    fail = false;
    expect(await load('b')).toBe('B');
    expect(calls).toEqual(['a', 'b', 'b']);
  });
});
