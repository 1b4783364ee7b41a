import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, retainCli } from './cli-process';

const root = resolve(__dirname, '../..');
const execFileAsync = promisify(execFile);

describe('retain schema and retain init (built CLI, no server)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'retain-init-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a large output piped to a slow reader arrives whole (the CLI exits only once stdout has flushed)', async () => {
    // A shell pipe (not node's socket pair): 64 KiB fill it before the reader, busy for a second, reads.
    const { stdout } = await execFileAsync('bash', ['-c', `"${process.execPath}" "${CLI}" schema | (sleep 1; wc -c)`], { cwd: root });
    expect(Number(stdout.trim())).toBe(readFileSync(join(root, 'retain.schema.json')).length);
  });

  it('`retain schema` prints the committed retain.schema.json (else: `npm run schema` regenerates it)', async () => {
    const { code, stdout } = await retainCli(['schema'], {}, root);
    expect(code).toBe(0);
    expect(
      stdout === readFileSync(join(root, 'retain.schema.json'), 'utf8') ? 'same' : 'retain.schema.json is stale: run `npm run schema`',
    ).toBe('same');
  });

  it('`retain init` writes a spec `retain validate` accepts, and refuses to overwrite one without --force', async () => {
    const spec = join(dir, 'first.yaml');
    const env = { RETAIN_HOME: join(dir, 'state'), TEMPORAL_ADDRESS: '127.0.0.1:1' }; // nothing here may contact a server
    expect((await retainCli(['init', spec], env)).code).toBe(0);
    const text = readFileSync(spec, 'utf8');
    // The schema path is relative to the spec's folder: the checkout's retain.schema.json.
    const schemaPath = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
    expect(schemaPath && resolve(dir, schemaPath)).toBe(join(root, 'retain.schema.json'));
    const validated = await retainCli(['validate', spec], env);
    // stderr carries only validate's memory estimate line.
    expect({ code: validated.code, stderr: validated.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/^memory: about [^\n]*\n$/),
    });
    expect(JSON.parse(validated.stdout).name).toBe('first');

    writeFileSync(spec, 'name: mine\n');
    const refused = await retainCli(['init', spec], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists.*--force/);
    expect(readFileSync(spec, 'utf8')).toBe('name: mine\n');
    expect((await retainCli(['init', spec, '--force'], env)).code).toBe(0);
    expect(readFileSync(spec, 'utf8')).toBe(text);
  });
});
