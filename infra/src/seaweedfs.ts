import { spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, promises as fs, openSync } from 'node:fs';
import * as path from 'node:path';
import { stateDir, toolsDirOf } from './paths';
import { freePort } from './ports';
import { runCommand, sleep, terminate } from './processes';
import { sharedToolsDir } from './test-support';

/**
 * SeaweedFS, pinned: the S3-compatible server the artifact store's tests run against. It is not
 * on npm or PyPI; the Go module proxy serves its source, which `go build` turns into one static
 * binary, `weed` (Apache-2.0). A pseudo-version, because the module's tags (3.x/4.x) are not Go
 * semantic-import versions; it is the proxy's build of upstream commit 7506e5f91cd6.
 */
export const SEAWEEDFS_MODULE = 'github.com/seaweedfs/seaweedfs';
export const SEAWEEDFS_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';
/** The release that commit reports in `weed version` ("version 30GB 4.53 linux amd64"). */
export const SEAWEEDFS_RELEASE = '4.53';
const EXE = process.platform === 'win32' ? 'weed.exe' : 'weed';
/** Building weed compiles ~1,000 packages: minutes on a small machine, so a generous bound. */
const BUILD_TIMEOUT_MS = 45 * 60_000;

/** Folder of the pinned weed binary in a tools dir. */
export function pinnedWeedDir(toolsDir: string): string {
  return path.join(toolsDir, `seaweedfs-${SEAWEEDFS_VERSION}`);
}

export function pinnedWeedPath(toolsDir: string): string {
  return path.join(pinnedWeedDir(toolsDir), EXE);
}

/** What installWeed does, as shell commands, for error messages and the README. */
export function weedInstallCommand(toolsDir: string): string {
  return (
    `cd "$(go mod download -json ${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION} | sed -n 's/.*"Dir": "\\(.*\\)".*/\\1/p')" && ` +
    `GOWORK=off GOFLAGS=-mod=readonly go build -trimpath -ldflags '-s -w' -o ${pinnedWeedPath(toolsDir)} ./weed`
  );
}

/**
 * The weed binary: env RETAIN_WEED (a wrong path is an error), else the pinned copy in the tools
 * dir (default `<stateDir()>/tools`), else, with `install: true`, a fresh build of the pinned
 * version (installWeed). Tests pass `install: false` and fail with the command to run.
 */
export async function resolveWeed(opts: { toolsDir?: string; install?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  const toolsDir = path.resolve(opts.toolsDir ?? toolsDirOf(stateDir()));
  const fromEnv = process.env.RETAIN_WEED?.trim();
  if (fromEnv) {
    const resolved = path.resolve(fromEnv);
    if (!(await isExecutableFile(resolved))) {
      throw new Error(
        `RETAIN_WEED=${fromEnv} is not an executable file. Point it at a SeaweedFS 'weed' binary, or unset it to use ${pinnedWeedPath(toolsDir)}.`,
      );
    }
    return resolved;
  }
  const pinned = pinnedWeedPath(toolsDir);
  if (await isExecutableFile(pinned)) return pinned;
  if (!opts.install) {
    throw new Error(
      `SeaweedFS (weed ${SEAWEEDFS_VERSION}) is not installed at ${pinned}: run 'bash infra/setup.sh' (it builds it with Go), ` +
        `or by hand: ${weedInstallCommand(toolsDir)}   (or set RETAIN_WEED to a weed binary).`,
    );
  }
  return installWeed(toolsDir, opts.log);
}

/**
 * Builds the pinned weed from the Go module proxy into `<toolsDir>/seaweedfs-<version>/weed`.
 * Not `go install module@version`: the module's go.mod has a replace directive, which `go install`
 * refuses for a module that is not the main one, so this builds inside the downloaded module
 * (read-only, verified against go.sum). A Go older than the module's `go` line fetches the newer
 * toolchain itself (GOTOOLCHAIN=auto). The binary is built beside the target and renamed into
 * place once `weed version` runs, so an interrupted build leaves nothing that resolveWeed trusts.
 */
export async function installWeed(toolsDir: string, log?: (line: string) => void): Promise<string> {
  const pinned = pinnedWeedPath(path.resolve(toolsDir));
  if (await isExecutableFile(pinned)) return pinned;
  const env = { ...process.env, GOWORK: 'off', GOFLAGS: '-mod=readonly' };
  const fail = (step: string, err: unknown): Error =>
    new Error(
      `Could not build SeaweedFS ${SEAWEEDFS_VERSION} (${step}): ${describeFailure(err)}\n` +
        `It needs Go (https://go.dev/dl, or apt-get install golang-go) and the Go module proxy (GOPROXY). By hand:\n  ${weedInstallCommand(toolsDir)}`,
    );
  log?.(`Building SeaweedFS weed ${SEAWEEDFS_VERSION} from the Go module proxy into ${path.dirname(pinned)} (minutes)`);
  let moduleDir: string;
  try {
    const { stdout } = await runCommand('go', ['mod', 'download', '-json', `${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}`], {
      env,
      timeout: 10 * 60_000,
    });
    moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  } catch (err) {
    throw fail('go mod download', err);
  }
  await fs.mkdir(path.dirname(pinned), { recursive: true });
  const scratch = `${pinned}.partial-${process.pid}-${Date.now()}`;
  const started = Date.now();
  try {
    try {
      await runCommand('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', scratch, './weed'], {
        cwd: moduleDir,
        env,
        timeout: BUILD_TIMEOUT_MS,
      });
    } catch (err) {
      throw fail('go build', err);
    }
    const version = await weedVersion(scratch);
    if (!version.includes(` ${SEAWEEDFS_RELEASE} `))
      throw new Error(`${scratch} reports '${version}', expected SeaweedFS ${SEAWEEDFS_RELEASE}.`);
    await fs.rename(scratch, pinned);
    const size = (await fs.stat(pinned)).size;
    log?.(`Built ${pinned} in ${Math.round((Date.now() - started) / 1000)} s, ${(size / 2 ** 20).toFixed(0)} MiB: ${version}`);
  } finally {
    await fs.rm(scratch, { force: true });
  }
  return pinned;
}

/** First line of `weed version`, e.g. "version 30GB 4.53  linux amd64" (30GB: the volume size limit of this build). */
export async function weedVersion(weedPath: string): Promise<string> {
  const { stdout } = await runCommand(weedPath, ['version'], { timeout: 30_000 });
  return stdout.trim().split('\n')[0] ?? '';
}

export interface S3ServerOptions {
  /**
   * The weed binary; default resolveWeed({ install: false }) in the tools dir infra/setup.sh fills
   * (RETAIN_HOME's, else the workspace's `.retain/tools`, whatever the test's working directory).
   */
  weedPath?: string;
  /** Data dir (volumes, filer metadata, log); the caller removes it. */
  dir: string;
  /** Buckets to create before the server counts as ready. */
  buckets?: string[];
  log?: (line: string) => void;
  /** How long to wait for the S3 port to answer (default 60 s). */
  readyTimeoutMs?: number;
  /** Address to bind and advertise (default 127.0.0.1); another host's address in a multi-host test. */
  host?: string;
  /** Run weed inside this network namespace (`ip netns exec`, as root): a separate host in the cluster test. */
  netns?: string;
}

export interface S3Server {
  /** `http://<host>:<port>`: the value of AWS_ENDPOINT_URL_S3 for a client of this server. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  pid: number;
  logFile: string;
  /** AWS_* variables that point a client (the SDK, RETAIN_ARTIFACTS users) at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const DEFAULT_READY_TIMEOUT_MS = 60_000;

/**
 * Starts SeaweedFS in one process (`weed mini`: master, volume server, filer and S3 gateway) on
 * loopback, with its data in `dir`, every port a free one, one S3 identity (a fixed test key with
 * admin rights) and no WebDAV, admin UI, Iceberg or telemetry. Resolves once the requested buckets
 * exist and the S3 port answers; stop() ends it with SIGTERM (SIGKILL after 10 s).
 */
export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? HOST;
  const weed = opts.weedPath ?? (await resolveWeed({ toolsDir: sharedToolsDir(), install: false }));
  const dir = path.resolve(opts.dir);
  await fs.mkdir(dir, { recursive: true });
  const accessKeyId = 'retain-test';
  const secretAccessKey = 'retain-test-secret';
  const s3Config = path.join(dir, 's3.json');
  await fs.writeFile(
    s3Config,
    JSON.stringify({
      identities: [
        {
          name: 'retain',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  // A fresh network namespace has every port free; on this host, ask the kernel for free ones.
  let nextNetnsPort = 9300;
  const port = async (): Promise<string> => String(opts.netns ? nextNetnsPort++ : await freePort(HOST));
  const s3Port = await port();
  const args = [
    'mini',
    `-dir=${path.join(dir, 'data')}`,
    `-ip=${host}`,
    `-ip.bind=${host}`,
    `-master.port=${await port()}`,
    `-master.port.grpc=${await port()}`,
    `-volume.port=${await port()}`,
    `-volume.port.grpc=${await port()}`,
    `-filer.port=${await port()}`,
    `-filer.port.grpc=${await port()}`,
    `-s3.port=${s3Port}`,
    `-s3.port.grpc=${await port()}`,
    `-s3.config=${s3Config}`,
    // mini always runs its admin server (and a maintenance worker that talks to it): free ports
    // for it too, and no second "legacy" admin port, so two servers never collide on a fixed port.
    `-admin.port=${await port()}`,
    `-admin.port.grpc=${await port()}`,
    '-admin.port.legacy=0',
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-webdav=false',
    '-admin.ui=false',
    '-master.telemetry=false',
    // Like AWS: a put into a bucket that does not exist fails (mini would create it for an admin key).
    '-s3.autoCreateBucket=false',
    ...(opts.buckets?.length ? [`-bucket=${opts.buckets.join(',')}`] : []),
  ];
  await fs.mkdir(path.join(dir, 'data'), { recursive: true });
  const logFile = path.join(dir, 'weed.log');
  const fd = openSync(logFile, 'a');
  const child = (() => {
    try {
      const [command, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, weed, ...args]] : [weed, args];
      return spawn(command, argv, { cwd: dir, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  })();
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exit code ${code}`));
  child.on('error', (err) => (exit = `could not run ${weed}: ${err.message}`));
  const killWithUs = (): void => void child.kill('SIGKILL');
  process.once('exit', killWithUs);
  const endpoint = `http://${host}:${s3Port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killWithUs);
    if (child.pid !== undefined && exit === undefined) await terminate(child.pid, { graceMs: 10_000 });
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  log(`Starting SeaweedFS S3 at ${endpoint} (data ${dir}, log ${logFile})`);
  for (;;) {
    if (exit !== undefined) {
      process.removeListener('exit', killWithUs);
      throw new Error(
        `SeaweedFS exited during startup (${exit}): ${weed} ${args.join(' ')}\nLast lines of ${logFile}:\n${await tail(logFile)}`,
      );
    }
    if (await isReady(logFile, endpoint)) break;
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(
        `SeaweedFS S3 at ${endpoint} was not ready within ${opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms; it was stopped. Last lines of ${logFile}:\n${await tail(logFile)}`,
      );
    }
    await sleep(100);
  }
  log(`SeaweedFS S3 ready at ${endpoint} (pid ${child.pid})`);
  const region = 'us-east-1';
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    pid: child.pid as number,
    logFile,
    env: { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region },
    stop,
  };
}

// The banner's title in printWelcomeMessage (weed/command/mini.go of the pinned version).
const READY_BANNER = 'SeaweedFS Mini - All-in-One Mode';

/**
 * Ready: mini prints its welcome banner once every service runs and the -bucket buckets exist,
 * and the S3 port answers its health check.
 */
async function isReady(logFile: string, endpoint: string): Promise<boolean> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  if (!text.includes(READY_BANNER)) return false;
  try {
    const response = await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function tail(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch((err: Error) => `(could not read it: ${err.message})`);
  return (
    text
      .trimEnd()
      .split('\n')
      .slice(-30)
      .map((l) => `  ${l}`)
      .join('\n') || '  (empty)'
  );
}

function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT') return `'go' is not installed (not on PATH)`;
  const stderr = (e.stderr ?? '').trim().split('\n').slice(-8).join(' | ');
  return stderr || e.message;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await fs.stat(file)).isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
