import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BadInputError, EXIT_OK, log } from '../output';

/** What `retain worker` was given besides --gpus, passed on to every GPU's worker. */
export interface GpuWorkerOptions {
  queue?: string[];
  slots: number;
  threads?: number;
  plugins?: string[];
}

/**
 * The GPUs CUDA will number cuda:0, cuda:1, ...: those CUDA_VISIBLE_DEVICES names when it is set
 * (CUDA renumbers them from 0), else every GPU `nvidia-smi -L` lists.
 */
export function visibleGpuCount(env: NodeJS.ProcessEnv = process.env): number {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) return visible.split(',').filter((s) => s.trim() !== '').length;
  let listing: string;
  try {
    listing = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'nvidia-smi, which the NVIDIA driver installs, is not on PATH'
        : `nvidia-smi -L failed (${(err as Error).message.split('\n')[0]})`;
    throw new BadInputError(`--gpus: no NVIDIA GPU is visible here: ${why}. Check the driver, or start \`retain worker --device cpu\``);
  }
  return listing.split('\n').filter((line) => /^GPU \d+:/.test(line)).length;
}

/** `--gpus all` or `--gpus 0,2` as the indices of visible GPUs, each checked against `count`. */
export function selectGpus(which: string, count: number): number[] {
  if (count === 0) throw new BadInputError('--gpus: no NVIDIA GPU is visible here (CUDA_VISIBLE_DEVICES or nvidia-smi -L lists none)');
  if (which.trim() === 'all') return Array.from({ length: count }, (_, i) => i);
  const indices = which.split(',').map((s) => s.trim());
  const picked: number[] = [];
  for (const s of indices) {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n >= count) {
      throw new BadInputError(
        `--gpus: '${s}' is not a visible GPU; this machine shows ${count} (${count === 1 ? '0' : `0-${count - 1}`}), or give 'all'`,
      );
    }
    if (picked.includes(n)) throw new BadInputError(`--gpus: GPU ${n} is listed twice; each GPU gets one worker process`);
    picked.push(n);
  }
  return picked;
}

/**
 * `retain worker --gpus`: one worker process per GPU, each `retain worker --device cuda:N` with the
 * same queues, slots, threads and plugins, its output prefixed with its device. The first starts
 * alone until it polls (it may start the embedded server and bundles the workflows, which the others
 * then reuse); one that stops with an error stops the rest, as one failing queue stops a worker.
 */
export async function serveGpus(opts: GpuWorkerOptions, which: string): Promise<number> {
  const gpus = selectGpus(which, visibleGpuCount());
  const children: ChildProcess[] = [];
  const stopAll = (signal: NodeJS.Signals) => children.forEach((c) => c.exitCode === null && c.kill(signal));
  const onSignal = (signal: NodeJS.Signals) => stopAll(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const [first, ...rest] = gpus.map((gpu) => () => startGpuWorker(gpu, opts, children));
    const leader = first!();
    const ready = await Promise.race([leader.ready.then(() => true), leader.exited.then(() => false)]);
    if (!ready) {
      const code = await leader.exited;
      if (rest.length > 0) log(`the worker on cuda:${gpus[0]} stopped before polling; the other GPUs' workers were not started`);
      return code === 0 ? EXIT_OK : code;
    }
    const all = [leader, ...rest.map((start) => start())];
    // The first to stop with an error stops the others; a clean stop (Ctrl-C) ends them all anyway.
    const codes = await Promise.all(
      all.map((w) =>
        w.exited.then((code) => {
          if (code !== 0) stopAll('SIGTERM');
          return code;
        }),
      ),
    );
    return codes.find((c) => c !== 0) ?? EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The CLI's own entry point (from src/ under jest as from dist/): each GPU's worker is a `retain worker`. */
const RETAIN_BIN = resolve(__dirname, '../../bin/retain.js');

interface GpuWorker {
  ready: Promise<void>;
  exited: Promise<number>;
}

function startGpuWorker(gpu: number, opts: GpuWorkerOptions, children: ChildProcess[]): GpuWorker {
  const device = `cuda:${gpu}`;
  const args = ['worker', '--device', device, '--slots', String(opts.slots)];
  if (opts.queue) args.push('--queue', opts.queue.join(','));
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  if (opts.plugins && opts.plugins.length > 0) args.push('--plugins', opts.plugins.join(','));
  const child = spawn(process.execPath, [RETAIN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let onReady = () => {};
  const ready = new Promise<void>((done) => (onReady = done));
  for (const [stream, out] of [
    [child.stdout!, process.stdout],
    [child.stderr!, process.stderr],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      out.write(`[${device}] ${line}\n`);
      if (line.startsWith('worker polling')) onReady();
    });
  }
  const exited = new Promise<number>((done) => child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1))));
  return { ready, exited };
}
