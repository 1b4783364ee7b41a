import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is a Temporal dev server, so a stale pid file whose pid the OS has since given to
 * another program never gets that program killed. Where /proc is missing we cannot tell and trust
 * the caller's other checks (the address answering as Temporal).
 */
export async function isTemporalDevServer(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return process.platform !== 'linux';
  }
  const argv = cmdline.split('\0');
  return argv.includes('server') && argv.includes('start-dev');
}

/**
 * Stops a process: SIGTERM (the dev server then flushes SQLite and exits, in about 3 s), wait up to
 * `graceMs`, then SIGKILL. `group` signals the whole process group of a detached server.
 * Resolves true when the process was alive and is now gone.
 */
export async function terminate(pid: number, opts: { group?: boolean; graceMs?: number } = {}): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const target = opts.group ? -pid : pid;
  signal(target, 'SIGTERM');
  if (await waitForExit(pid, opts.graceMs ?? 15_000)) return true;
  signal(target, 'SIGKILL');
  if (await waitForExit(pid, 5_000)) return true;
  throw new Error(`Process ${pid} (Temporal dev server) did not exit after SIGKILL; check it with 'ps -p ${pid}'.`);
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs a program to completion; rejects with its stderr attached (`err.stderr`) when it fails. */
export function runCommand(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}
