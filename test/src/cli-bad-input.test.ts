import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retainCli } from './cli-process';

/**
 * Bad input through the built CLI: refused with exit code 2 and the CLI's own words, before the
 * server is contacted where the input alone is wrong; a control command on an ended run says so.
 */
describe('retain refuses bad input clearly', () => {
  let dir: string;
  // Nothing listens there: a command that contacted a server would fail with other words.
  const noServer = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-bad-input-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a run id that would leave the state folder, and writes nothing', async () => {
    const home = join(dir, 'a', 'b', 'state');
    mkdirSync(home, { recursive: true });
    const spec = join(dir, 'escape.yaml');
    writeFileSync(spec, 'name: escape\nbenchmark: permuted-fmnist\nmodel: mlp\ntrainer: supervised\n');
    const run = await retainCli(['run', spec, '--id', '../../../x'], { ...noServer, RETAIN_HOME: home });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/'\.\.\/\.\.\/\.\.\/x' is not a run id; use a letter or digit/);
    expect(readdirSync(home)).toEqual([]);
    expect(existsSync(join(dir, 'x'))).toBe(false);

    const result = await retainCli(['result', ''], { ...noServer, RETAIN_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/argument 'runId'.*the run id is empty/);
  });

  it('refuses bad-input corpus cases as a process: exit 2, the field or file position, no stack trace', async () => {
    // The whole corpus runs in-process (packages/cli/src/bad-specs.test.ts); these check the real process says the same.
    const corpus = join(__dirname, '..', 'fixtures', 'bad-specs');
    const cases: Array<[string, RegExp]> = [
      ['transformer-heads-not-dividing.yaml', /model\.config\.attentionHeads: 3 does not divide width 16/],
      ['yaml-billion-laughs.yaml', /yaml-billion-laughs\.yaml:6:8: aliases expand to too much data/],
      ['utf16-le-bom.yaml', /the file is UTF-16 text; save it as UTF-8/],
    ];
    for (const [file, message] of cases) {
      const { code, stdout, stderr } = await retainCli(['validate', join(corpus, file)], noServer);
      expect({ file, code, stdout }).toEqual({ file, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses an unknown `ls --status`, naming the allowed values', async () => {
    const { code, stdout, stderr } = await retainCli(['ls', '--status', 'weird'], { ...noServer, RETAIN_HOME: join(dir, 'state') });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/Allowed choices are running, paused, completed, failed, cancelled/);
  });

  it('prints its version', async () => {
    const { code, stdout } = await retainCli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^retain \d+\.\d+\.\d+( \(build [\w.-]+\))?\n$/);
  });

  it('says a completed run has nothing to cancel, pause or unpause, and an unknown run that it does not exist: exit 2', async () => {
    const env = { RETAIN_HOME: join(dir, 'state') };
    const spec = join(dir, 'done.yaml');
    writeFileSync(
      spec,
      [
        'name: bad-input-done',
        'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 200, testPerTask: 100 } }',
        'model: { name: mlp, config: { hidden: [16] } }',
        'trainer: supervised',
        `execution: { taskQueue: bad-input-${process.pid} }`,
      ].join('\n'),
    );
    const run = await retainCli(['run', spec, '--id', `done-${process.pid}`], env);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    for (const action of ['cancel', 'pause', 'unpause']) {
      const { code, stderr } = await retainCli([action, `done-${process.pid}`], env);
      expect(code).toBe(2);
      expect(stderr).toContain(`run done-${process.pid} already completed; nothing to ${action}`);
    }
    const unknown = await retainCli(['status', `unknown-${process.pid}`], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no run unknown-${process.pid} on this Temporal server; \`retain ls\` lists the runs it has`);
  });
});
