import { spawn, type ChildProcess } from 'node:child_process';
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

/** Runs `retain <args>` to completion. */
export function retainCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliOutput> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env) });
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

/** Starts `retain <args>` and resolves `ready` once its stderr matches `pattern`; the process keeps running. */
export function startRetain(args: string[], env: Record<string, string | undefined>, pattern: RegExp): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env) });
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
