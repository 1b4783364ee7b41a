import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { main } from './main';

/**
 * The bad-input corpus (test/fixtures/bad-specs/, README there): every case through `retain
 * validate` in this process, asserting its exit code, its message fragment, the field it names and
 * that no stack trace reaches the user. The same cases through the built CLI: test/src/cli-bad-input.test.ts.
 */
const BAD_SPECS_DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'bad-specs');

interface BadSpecCase {
  file: string;
  exit: number;
  /** The dotted field path the message must name as `<field>: `; absent for file-level problems. */
  field?: string;
  /** A fragment the message must contain (case-insensitive). */
  message: string;
}

/** The cases: every .yaml file's `# exit`, `# field`, `# message` header, plus cases.json's (files that cannot hold a header). */
function badSpecCases(dir = BAD_SPECS_DIR): BadSpecCase[] {
  const special = (JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { cases: BadSpecCase[] }).cases;
  const listed = new Set(special.map((c) => c.file));
  const withHeader = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !listed.has(f) && statSync(join(dir, f)).isFile())
    .sort()
    .map((file): BadSpecCase => {
      const header = new Map<string, string>();
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const m = /^# (exit|field|message): (.*)$/.exec(line);
        if (!m) break;
        header.set(m[1], m[2]);
      }
      const exit = Number(header.get('exit'));
      const message = header.get('message');
      if (!Number.isInteger(exit) || !message) throw new Error(`${file}: the header needs '# exit: <code>' and '# message: <fragment>'`);
      return { file, exit, field: header.get('field'), message };
    });
  return [...withHeader, ...special];
}

type Verdict = 'clear' | 'unclear' | 'wrongly accepted' | 'crash';

/** clear: the expected exit with the field and the fragment, no stack trace; unclear: exit 2 without them; otherwise accepted or crashed. */
function verdictOf(c: BadSpecCase, code: number, stderr: string): Verdict {
  if (code === 0) return 'wrongly accepted';
  if (code !== 2) return 'crash';
  const named = c.field === undefined || stderr.includes(`${c.field}: `);
  const said = stderr.toLowerCase().includes(c.message.toLowerCase());
  return code === c.exit && named && said && !hasStackTrace(stderr) ? 'clear' : 'unclear';
}

function hasStackTrace(text: string): boolean {
  return /\n\s+at .+(:\d+:\d+\)?|\(node:)/.test(text);
}

/** `retain validate <file>` through main(argv), with what it wrote. */
async function validateInProcess(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    const code = await main(['node', 'retain', 'validate', file]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('the bad-input corpus through `retain validate`', () => {
  const cases = badSpecCases();
  const verdicts = new Map<Verdict, string[]>();

  afterAll(() => {
    // One line a developer reads after a change: how many cases each verdict has.
    const counts = (['clear', 'unclear', 'wrongly accepted', 'crash'] as const).map((v) => `${v} ${verdicts.get(v)?.length ?? 0}`);
    process.stdout.write(`bad-specs: ${cases.length} cases: ${counts.join(', ')}\n`);
    if (process.env.BAD_SPECS_REPORT) {
      for (const [v, files] of verdicts) if (v !== 'clear') process.stdout.write(`  ${v}: ${files.join(' ')}\n`);
    }
  });

  it('holds at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const { code, stdout, stderr } = await validateInProcess(join(BAD_SPECS_DIR, c.file));
    const verdict = verdictOf(c, code, stderr);
    verdicts.set(verdict, [...(verdicts.get(verdict) ?? []), c.file]);
    if (process.env.BAD_SPECS_REPORT && verdict !== 'clear') process.stdout.write(`${c.file} [${verdict}] exit ${code}\n${stderr}\n`);
    expect({ code, stdout }).toEqual({ code: c.exit, stdout: '' });
    expect(stderr.toLowerCase()).toContain(c.message.toLowerCase());
    if (c.field !== undefined) expect(stderr).toContain(`${c.field}: `);
    expect(hasStackTrace(stderr)).toBe(false);
  });
});
