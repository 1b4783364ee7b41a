import { collectQueues, formatWorkers } from './workers';

describe('retain workers', () => {
  it('--queue takes comma-separated and repeated names, each once, and rejects an empty one', () => {
    expect(collectQueues('gpu', undefined)).toEqual(['gpu']);
    expect(collectQueues('cpu, retain', collectQueues('gpu,cpu', undefined))).toEqual(['gpu', 'cpu', 'retain']);
    expect(() => collectQueues('gpu,,cpu', undefined)).toThrow(/--queue takes task queue names separated by commas, got 'gpu,,cpu'/);
  });

  it('tables every poller with its device and build, and says how to serve a queue nobody polls', () => {
    const identity = 'retain@gpu-box/77 device=cuda build=0123456789ab';
    const now = new Date('2026-12-05T10:00:30Z');
    const text = formatWorkers(
      [
        {
          queue: 'gpu',
          pollers: [
            {
              queue: 'gpu',
              tasks: 'activity',
              identity,
              device: 'cuda',
              build: '0123456789ab',
              lastAccess: new Date('2026-12-05T10:00:00Z'),
            },
          ],
        },
        { queue: 'cpu', pollers: [] },
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      'queue  tasks     device  build         last poll                        identity',
      `gpu    activity  cuda    0123456789ab  2026-12-05T10:00:00Z (30 s ago)  ${identity}`,
      "no worker polls 'cpu': start `npx retain worker --queue cpu` (add `--device cuda` on a GPU machine)",
    ]);
  });
});
