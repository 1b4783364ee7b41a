import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * A worker's identity, which Temporal shows for every poller (DescribeTaskQueue) and records on
 * every started activity: `retain@<host>/<pid> device=<device> build=<build>`. It carries what an
 * operator needs to tell workers apart (which machine and process, which device, which code), so
 * `retain workers` can show them without any registry of its own.
 */
export function workerIdentity(device: string): string {
  return `retain@${hostname()}/${process.pid} device=${device} build=${retainBuild()}`;
}

/** What `retain workers` reads back from an identity; fields absent from a non-Retain identity are undefined. */
export interface ParsedIdentity {
  /** `<host>/<pid>` for a Retain worker, the identity as it is otherwise. */
  worker: string;
  device?: string;
  build?: string;
}

export function parseWorkerIdentity(identity: string): ParsedIdentity {
  const match = /^retain@(\S+)((?:\s+\w+=\S*)*)$/.exec(identity);
  if (!match) return { worker: identity };
  const fields = Object.fromEntries([...match[2].matchAll(/(\w+)=(\S*)/g)].map(([, key, value]) => [key, value]));
  return { worker: match[1], device: fields.device, build: fields.build };
}

let build: string | undefined;

/**
 * The code a worker runs: the git commit of its checkout (12 hex digits, `-dirty` with uncommitted
 * changes), else (an installed package, an image without git) @retain/worker's version. Read once
 * per process.
 */
export function retainBuild(): string {
  return (build ??= gitCommit() ?? `v${packageVersion()}`);
}

function gitCommit(): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${commit}-dirty` : commit;
  } catch {
    return undefined; // no git, or not a checkout
  }
}

function packageVersion(): string {
  // __dirname is src/ under jest and dist/ when built: package.json is one level up either way.
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}
