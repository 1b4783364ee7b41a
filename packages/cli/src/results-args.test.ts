import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from './output';
import { loadResults, parseResultsRef } from './results-args';

describe('the <run|sweep> argument', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'retain-results-args-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes an existing results file or a well-formed id; refuses a missing file and an unsafe id', () => {
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify({ runId: 'r', matrices: {} }));
    expect(parseResultsRef(file)).toBe(file);
    expect(parseResultsRef('grid-20260101-000000-ab12')).toBe('grid-20260101-000000-ab12');
    expect(() => parseResultsRef(join(dir, 'sweep.json'))).toThrow(BadInputError);
    expect(() => parseResultsRef(join(dir, 'sweep.json'))).toThrow(/sweep\.json: no such file/);
    expect(() => parseResultsRef('..')).toThrow(/'\.\.' is not a run id.*, or a results\.json \/ sweep\.json file/);
  });

  it('loads files without any server, telling runs from sweeps', async () => {
    const run = join(dir, 'run.json');
    const sweep = join(dir, 'grid.json');
    writeFileSync(run, JSON.stringify({ runId: 'r1', matrices: {} }));
    writeFileSync(sweep, JSON.stringify({ sweepId: 's1', groups: [] }));
    // No server is configured here: only the files are read.
    const loaded = await loadResults([run, sweep]);
    expect(loaded.map((l) => [l.kind, l.id])).toEqual([
      ['run', 'r1'],
      ['sweep', 's1'],
    ]);
  });
});
