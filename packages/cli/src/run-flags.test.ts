import { join } from 'node:path';
import { main } from './main';

const spec = join(__dirname, '..', '..', '..', 'examples', 'permuted-fmnist.yaml');

/** `retain <args>` in this process: its exit code and what it wrote to stderr. */
async function retain(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    return { code: await main(['node', 'retain', ...args]), stderr };
  } finally {
    err.mockRestore();
  }
}

/** `retain run`'s --seed and --threads are refused before any server contact when they cannot apply. */
describe('retain run --seed / --threads', () => {
  const run = (args: string[]) => retain(['run', spec, ...args]);

  it('refuses a seed that is not a spec seed, naming the flag and the range', async () => {
    for (const seed of ['x', '-1', '1.5', '4294967296']) {
      const { code, stderr } = await run(['--seed', seed]);
      expect({ seed, code }).toEqual({ seed, code: 2 });
      expect(stderr).toContain(`--seed must be a whole number from 0 to 4294967295, got '${seed}'`);
    }
  });

  it('refuses --threads with --detach: no worker runs here', async () => {
    const { code, stderr } = await run(['--detach', '--threads', '1']);
    expect(code).toBe(2);
    expect(stderr).toContain('with --detach, start `retain worker --threads N` instead');
  });
});

/** `--device` is checked as a name, then tried, before any server contact. */
describe('retain run / sweep --device', () => {
  it('refuses a device name it does not know, listing the ones it does', async () => {
    const { code, stderr } = await retain(['run', spec, '--device', 'cuda:x']);
    expect(code).toBe(2);
    expect(stderr).toContain("--device must be one of cpu, cuda, cuda:N (the N-th visible GPU), webgpu, got 'cuda:x'");
  });

  it('refuses --device with --detach: no worker runs here', async () => {
    const { code, stderr } = await retain(['sweep', spec, '--detach', '--device', 'cuda']);
    expect(code).toBe(2);
    expect(stderr).toContain('with --detach, start `retain worker --device <name>` instead');
  });

  it('a GPU that cannot start is bad input (exit 2) saying why, before a server or a run exists', async () => {
    // This machine has no NVIDIA driver: the message names the install command or the driver.
    const { code, stderr } = await retain(['run', spec, '--device', 'cuda:0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /device 'cuda:0' is not available: (onnxruntime-node's CUDA provider is not installed|this machine has no NVIDIA driver)/,
    );
    expect(stderr).not.toMatch(/started on|Temporal:/);
  });
});
