import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** The built `retain` command, run as a separate process (build first: `npm run build`). */
export const CLI = resolve(__dirname, '../../packages/cli/bin/retain.js');

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `retain <args>` to its end, with `env` over this process's environment (TEMPORAL_ADDRESS included). */
export function retain(args: string[], env: Record<string, string | undefined>): Promise<Finished> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
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
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  const ready = new Promise<string>((done, fail) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (pattern.test(stderr)) done(stderr);
    });
    void exited.then((code) => fail(new Error(`retain ${args[0]} exited with ${code} before /${pattern.source}/:\n${stderr}`)));
  });
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
}
