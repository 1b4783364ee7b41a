import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { CUDA_PROVIDER_FILE, DRIVER_LIBRARY, onnxruntimeBinDir, unresolvedLibraries } from '@retain/engine';
import { resolveCudaProvider, wireCudaProvider, type CudaLibraries } from '@retain/infra';
import { log } from '../output';

/** `retain setup gpu`: what `infra/setup.sh --gpu` runs, and a GPU image's build step. */
export function addSetupCommand(program: Command): void {
  program
    .command('setup')
    .description('install optional parts')
    .command('gpu')
    .description(
      "install onnxruntime's CUDA provider and the CUDA 13 libraries it links from PyPI into <state>/tools, " +
        'and link it into onnxruntime-node for `retain worker --device cuda`; again after `npm ci`',
    )
    .addOption(new Option('--system-cuda', "the provider only: the machine's own CUDA 13 and cuDNN 9 (on ld.so's path) serve it"))
    .action(async (opts: { systemCuda?: boolean }) => {
      const libraries: CudaLibraries = opts.systemCuda ? 'system' : 'pypi';
      const install = await resolveCudaProvider({ libraries, log });
      await wireCudaProvider(install, onnxruntimeBinDir());
      const linked = join(onnxruntimeBinDir(), CUDA_PROVIDER_FILE);
      log(`CUDA provider: ${linked} -> ${install.provider}`);
      const missing = unresolvedLibraries(linked);
      if (missing.length === 0) log('every library it links is found');
      else if (missing.length === 1 && missing[0] === DRIVER_LIBRARY)
        log(`every library it links is found but ${DRIVER_LIBRARY}, which the NVIDIA driver installs: none here`);
      else
        log(
          `libraries it links that are not found: ${missing.join(', ')}${libraries === 'system' ? " (put the machine's CUDA 13 lib folders on LD_LIBRARY_PATH)" : ''}`,
        );
    });
}
