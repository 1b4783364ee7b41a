import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';

/** The built `retain` CLI: integration tests run it as a separate process, as a user would. */
export const CLI = resolve(__dirname, '../../packages/cli/bin/retain.js');

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's environment without a developer's own RETAIN_ARTIFACTS (a test sets it when it means to), plus `env`. */
function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  delete inherited.RETAIN_ARTIFACTS;
  return { ...inherited, ...env };
}

/** `retain <args>` as a process; inside network namespace `netns` (a host of the cluster test) when given. */
function spawnCli(args: string[], env: Record<string, string | undefined>, cwd?: string, netns?: string): ChildProcessWithoutNullStreams {
  const [command, argv] = netns ? ['ip', ['netns', 'exec', netns, process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  return spawn(command, argv, { cwd, env: cliEnv(env) });
}

/** Runs `retain <args>` to completion (in `netns` when given). */
export function retainCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string, netns?: string): Promise<CliOutput> {
  return new Promise((done, fail) => {
    const child = spawnCli(args, env, cwd, netns);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

export interface Running {
  child: ChildProcess;
  /** Resolves with stderr so far once it matches the pattern; rejects if the process ends first. */
  ready: Promise<string>;
  exited: Promise<number>;
  output(): { stdout: string; stderr: string };
}

/** Starts `retain <args>` (in `netns` when given) and resolves `ready` once its stderr matches `pattern`; the process keeps running. */
export function startRetain(args: string[], env: Record<string, string | undefined>, pattern: RegExp, netns?: string): Running {
  const child = spawnCli(args, env, undefined, netns);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  const exited = new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const ready = new Promise<string>((done, fail) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (pattern.test(stderr)) done(stderr);
    });
    void exited.then((code) => fail(new Error(`retain ${args[0]} exited with ${code} before /${pattern.source}/:\n${stderr}`)));
  });
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
}
