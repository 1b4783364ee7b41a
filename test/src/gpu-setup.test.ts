import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CUDA_PROVIDER_FILE,
  DRIVER_LIBRARY,
  InferenceSession,
  initParams,
  mlp,
  buildEvalGraph,
  onnxruntimeBinDir,
  unresolvedLibraries,
} from '@retain/engine';
import { CUDA_LIBRARY_WHEELS, ORT_CUDA_RELEASE, resolveCudaProvider, wireCudaProvider, type CudaProviderInstall } from '@retain/infra';
import { retainCli } from './cli-process';

/**
 * The GPU path as far as a machine without a GPU can take it: `infra/setup.sh --gpu` installs the
 * CUDA provider and its CUDA 13 libraries from PyPI (here: reused from setup, else installed now,
 * about 2.4 GB and half a minute) and links it into onnxruntime-node, after which everything
 * resolves but the NVIDIA driver, and a CUDA session fails for that reason alone.
 */
/** Whether ld.so knows the NVIDIA driver's library: on a GPU machine the CUDA session must start instead. */
const hasDriver = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes(DRIVER_LIBRARY);
let install: CudaProviderInstall;

beforeAll(async () => {
  install = await resolveCudaProvider({ toolsDir: join(__dirname, '../../.retain/tools'), log: (l) => console.log(l) });
  await wireCudaProvider(install, onnxruntimeBinDir());
}, 15 * 60_000);

test('the provider is of the same ORT release as onnxruntime-node, with the pinned CUDA 13 wheels', () => {
  const ortNode = JSON.parse(readFileSync(join(onnxruntimeBinDir(), '../../../../package.json'), 'utf8')) as { version: string };
  expect(ORT_CUDA_RELEASE).toBe(ortNode.version);
  const manifest = JSON.parse(readFileSync(join(install.dir, 'retain-cuda.json'), 'utf8')) as { wheels: string[] };
  expect(manifest.wheels).toEqual(
    expect.arrayContaining([`onnxruntime-gpu==${ORT_CUDA_RELEASE}`, ...Object.entries(CUDA_LIBRARY_WHEELS).map(([n, v]) => `${n}==${v}`)]),
  );
  // Linked where onnxruntime-node's binding looks for providers.
  for (const file of [CUDA_PROVIDER_FILE, 'libonnxruntime_providers_shared.so']) {
    expect(realpathSync(join(onnxruntimeBinDir(), file))).toBe(realpathSync(join(install.dir, file)));
  }
});

test('every library the provider links resolves through its RUNPATH, but the NVIDIA driver', () => {
  const linked = join(onnxruntimeBinDir(), CUDA_PROVIDER_FILE);
  expect(unresolvedLibraries(linked)).toEqual(hasDriver ? [] : [DRIVER_LIBRARY]);
  // cuDNN is loaded when a graph first needs it, from the same RUNPATH: its libraries and theirs resolve too.
  const cudnnDir = install.libraryDirs.find((d) => d.includes('cudnn'));
  expect(cudnnDir).toBeDefined();
  const cudnn = readdirSync(cudnnDir!).filter((f) => /^libcudnn.*\.so\.9$/.test(f));
  expect(cudnn).toContain('libcudnn.so.9');
  for (const lib of cudnn)
    expect({ lib, missing: unresolvedLibraries(join(cudnnDir!, lib)).filter((m) => m !== DRIVER_LIBRARY) }).toEqual({ lib, missing: [] });
  for (const lib of ['libcudart.so.13', 'libcublas.so.13', 'libcublasLt.so.13', 'libcurand.so.10', 'libcufft.so.12', 'libnvrtc.so.13']) {
    expect(install.libraryDirs.some((d) => existsSync(join(d, lib)))).toBe(true);
  }
});

test('a CUDA session starts on a GPU machine, and elsewhere fails naming the missing driver', async () => {
  const model = mlp({ inputSize: 2, hidden: [2], classesPerHead: 2, heads: 1 });
  const created = InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 0), { device: 'cuda:0' });
  if (hasDriver) await (await created).close();
  else
    await expect(created).rejects.toThrow(
      /device 'cuda:0' is not available: this machine has no NVIDIA driver: .*libcuda\.so\.1.*`nvidia-smi`/,
    );
});

// Where a driver exists the workers would start for real; the GPU check covers that machine.
(hasDriver ? describe.skip : describe)('retain worker --gpus (on a machine without an NVIDIA driver)', () => {
  // A stand-in for the driver's nvidia-smi: GPUs cannot exist on this machine, their listing can.
  let fakeBin: string;
  beforeAll(async () => {
    fakeBin = await fs.mkdtemp(join(tmpdir(), 'retain-fake-smi-'));
    const listing = ['GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)', 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-1)'];
    await fs.writeFile(join(fakeBin, 'nvidia-smi'), `#!/bin/sh\nprintf '%s\\n' ${listing.map((l) => `'${l}'`).join(' ')}\n`, {
      mode: 0o755,
    });
  });
  afterAll(() => fs.rm(fakeBin, { recursive: true, force: true }));
  const withGpus = (extra: Record<string, string | undefined> = {}) => ({
    PATH: `${fakeBin}:${process.env.PATH}`,
    CUDA_VISIBLE_DEVICES: undefined,
    RETAIN_HOME: join(fakeBin, 'home'),
    ...extra,
  });

  test('starts one `worker --device cuda:N` per GPU, and one that cannot start stops them all, saying why', async () => {
    const all = await retainCli(['worker', '--gpus', 'all', '--threads', '1'], withGpus());
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/\[cuda:0\] retain: device 'cuda:0' is not available: this machine has no NVIDIA driver/);
    expect(all.stderr).toContain("the worker on cuda:0 stopped before polling; the other GPUs' workers were not started");
    const second = await retainCli(['worker', '--gpus', '1'], withGpus());
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/\[cuda:1\] retain: device 'cuda:1' is not available/);
    expect(second.stderr).not.toContain('[cuda:0]');
  });

  test('a GPU that is not visible, or none at all, is bad input naming what is there', async () => {
    const third = await retainCli(['worker', '--gpus', '0,2'], withGpus());
    expect([third.code, third.stderr.trim()]).toEqual([
      2,
      "retain: --gpus: '2' is not a visible GPU; this machine shows 2 (0-1), or give 'all'",
    ]);
    const hidden = await retainCli(['worker', '--gpus', 'all'], withGpus({ CUDA_VISIBLE_DEVICES: '' }));
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toContain('--gpus: no NVIDIA GPU is visible here');
    const both = await retainCli(['worker', '--gpus', 'all', '--device', 'cuda'], withGpus());
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("option '--gpus <which>' cannot be used with option '--device <name>'");
  });
});
