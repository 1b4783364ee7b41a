import { pollEvery } from './poll';

describe('pollEvery', () => {
  test('stop waits for the poll in flight, and no poll starts after it', async () => {
    const events: string[] = [];
    let release = () => {};
    const stop = pollEvery(5, async () => {
      events.push('start');
      await new Promise<void>((done) => (release = done));
      events.push('end');
    });
    await new Promise((r) => setTimeout(r, 30)); // intervals pass while the first poll is in flight
    expect(events).toEqual(['start']);
    const stopped = stop().then(() => events.push('stopped'));
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['start']);
    release();
    await stopped;
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['start', 'end', 'stopped']);
  });

  test('a failed poll is skipped and the next one runs', async () => {
    let calls = 0;
    const stop = pollEvery(5, async () => {
      calls++;
      throw new Error('server busy');
    });
    await new Promise((r) => setTimeout(r, 40));
    await stop();
    expect(calls).toBeGreaterThan(1);
  });
});
