import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseRunId, runResultsDir } from './run-id';

describe('run ids', () => {
  it.each(['mnist-20261205-0951-ab12', 'a', 'A.b_c-1', 'x'.repeat(200), 'split-mnist-resumed-00ff', 'nightly-2026-12-05T03:00:00Z'])(
    'accepts %s',
    (id) => {
      expect(parseRunId(id)).toBe(id);
    },
  );

  it.each([
    ['', /run id is empty/],
    ['../../../x', /'\.\.\/\.\.\/\.\.\/x' is not a run id/],
    ['..', /not a run id/],
    ['a..b', /not a run id/],
    ['a/b', /not a run id/],
    ['a\\b', /not a run id/],
    ['.hidden', /not a run id/],
    ['-rf', /not a run id/],
    ['x'.repeat(201), /not a run id/],
    ['a b', /not a run id/],
  ])('refuses %j, naming the allowed form', (id, message) => {
    expect(() => parseRunId(id)).toThrow(InvalidArgumentError);
    expect(() => parseRunId(id)).toThrow(message);
    expect(() => parseRunId(id)).toThrow(/letter or digit, then up to 199 letters, digits/);
  });

  it('keeps the default results folder inside <state>/runs', () => {
    const runs = join('/tmp', 'state', 'runs');
    expect(runResultsDir(runs, 'run-1')).toBe(join(runs, 'run-1'));
    expect(() => runResultsDir(runs, '../x')).toThrow(/outside/);
    expect(() => runResultsDir(runs, '.')).toThrow(/outside/);
  });
});
