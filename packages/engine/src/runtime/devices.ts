import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * Execution providers a session can run on. 'cpu' is always there; 'webgpu' is bundled with
 * onnxruntime-node but needs a GPU with a Vulkan driver; 'cuda' (or 'cuda:N', the N-th visible
 * GPU) needs the CUDA provider that `bash infra/setup.sh --gpu` installs from PyPI. A device that
 * cannot start is an error saying what to install: ORT never falls back to the CPU for a whole session.
 */
export const DEVICE_KINDS = ['cpu', 'cuda', 'webgpu'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type Device = DeviceKind | `cuda:${number}`;
/** The names a flag accepts, for help texts. */
export const DEVICE_NAMES = 'cpu, cuda, cuda:N (the N-th visible GPU), webgpu';

/** Checks a device name from a flag or a config; `field` names where it came from. */
export function parseDevice(value: string, field = 'device'): Device {
  if ((DEVICE_KINDS as readonly string[]).includes(value)) return value as Device;
  if (/^cuda:(0|[1-9][0-9]*)$/.test(value)) return value as Device;
  throw new Error(`${field} must be one of ${DEVICE_NAMES}, got '${value}'`);
}

export function deviceKind(device: Device): DeviceKind {
  return device.startsWith('cuda') ? 'cuda' : (device as DeviceKind);
}

/** The GPU index of 'cuda:N' (0 for 'cuda'). */
export function cudaDeviceId(device: Device): number {
  return device.startsWith('cuda:') ? Number(device.slice('cuda:'.length)) : 0;
}

/** A device as onnxruntime-node's `executionProviders` names it. */
export type ExecutionProvider = 'cpu' | 'webgpu' | { name: 'cuda'; deviceId: number };

export function executionProvider(device: Device): ExecutionProvider {
  const kind = deviceKind(device);
  return kind === 'cuda' ? { name: 'cuda', deviceId: cudaDeviceId(device) } : kind;
}

/** onnxruntime-node's native folder: its binding loads execution providers from here. */
export function onnxruntimeBinDir(): string {
  const pkg = createRequire(__filename).resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_PROVIDER_FILE = 'libonnxruntime_providers_cuda.so';
/** The NVIDIA driver's library: the one thing the CUDA provider links that no package installs. */
export const DRIVER_LIBRARY = 'libcuda.so.1';
const CUDA_SETUP = '`bash infra/setup.sh --gpu` (README, "GPU workers")';

/** What to do when `device` could not start (its provider is missing or found no GPU). */
export function deviceInstallHint(device: Device): string {
  switch (deviceKind(device)) {
    case 'cuda':
      return diagnoseCuda(device);
    case 'webgpu':
      return (
        'the WebGPU provider found no GPU adapter: it runs through Vulkan and needs a GPU with its Vulkan driver ' +
        '(libvulkan.so.1, Debian package libvulkan1, plus the vendor ICD, e.g. the NVIDIA driver), or use --device cpu'
      );
    default:
      return 'the CPU provider always exists; this is a bug in onnxruntime-node';
  }
}

/**
 * Why the CUDA provider could not start, found the way a person would: is it linked into
 * onnxruntime-node, and which of the libraries it links can ld.so not find (`ldd`, which reads
 * the RUNPATH the install set)? ORT's own message says only "Failed to load shared library".
 */
function diagnoseCuda(device: Device): string {
  const provider = path.join(onnxruntimeBinDir(), CUDA_PROVIDER_FILE);
  if (!existsSync(provider)) {
    return `onnxruntime-node's CUDA provider is not installed (${provider} is missing): install it with ${CUDA_SETUP}, or use --device cpu`;
  }
  const missing = unresolvedLibraries(provider);
  if (missing.length === 1 && missing[0] === DRIVER_LIBRARY) {
    return (
      `this machine has no NVIDIA driver: the CUDA provider and its libraries are installed, but ${DRIVER_LIBRARY} ` +
      '(which only the NVIDIA driver provides) is not found. Check the driver and the GPUs with `nvidia-smi`; in a container, ' +
      'start it with the NVIDIA container toolkit (`docker run --gpus all`, or a Kubernetes nvidia.com/gpu limit); or use --device cpu'
    );
  }
  if (missing.length > 0) {
    return (
      `the CUDA provider (${realpathOr(provider)}) cannot find ${missing.join(', ')}: reinstall it with ${CUDA_SETUP}, ` +
      "or, with the machine's own CUDA 13 and cuDNN 9, put their lib folders on LD_LIBRARY_PATH"
    );
  }
  return (
    `the CUDA provider and every library it links are found, so the GPU itself did not start as ${device}: ` +
    '`nvidia-smi` lists the GPUs this process can use (CUDA_VISIBLE_DEVICES narrows them; cuda:N counts from 0) and the driver version, which must support CUDA 13'
  );
}

/** The libraries `file` links that ld.so cannot find, as `ldd` reports them; none when `ldd` cannot run. */
export function unresolvedLibraries(file: string): string[] {
  try {
    const out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return [...out.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
