import { join } from 'node:path';
import { SpecErrors } from '@retain/sdk';
import { defaultRegistry } from '@retain/worker';
import { main } from './main';
import { parseSpec } from './spec-file';

async function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    return { code: await main(['node', 'retain', 'validate', file]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('retain validate', () => {
  it("prints every default, the execution block's and the evaluation policy's included, and the memory estimate", async () => {
    const { code, stdout, stderr } = await validate(join(__dirname, '..', '..', '..', 'examples', 'permuted-fmnist.yaml'));
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as { execution: unknown; evaluation: unknown };
    expect(printed.execution).toEqual({
      taskQueue: 'retain',
      queues: { train: 'retain', finish: 'retain' },
      heartbeatTimeoutSeconds: 4,
      continueAsNewAfterEvents: 1000,
    });
    expect(printed.evaluation).toEqual({ tasks: 'all' });
    expect(stderr).toMatch(/^memory: about \d+ MB at the run's peak \(process baseline 350 MB, .*\); this machine has [\d.]+ GB\n$/);
  });

  it("refuses a spec over the server's payload limit, saying its size, the limit and the largest field", () => {
    const text = `name: big\ndescription: ${'x'.repeat(1_200_000)}\nbenchmark: permuted-fmnist\nmodel: mlp\ntrainer: supervised\n`;
    let error: unknown;
    try {
      parseSpec(text, defaultRegistry());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SpecErrors);
    expect((error as SpecErrors).errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^description: the spec is 1\.2 MB as JSON \(this field 1\.2 MB\);.*caps at 2 MB.*at most 1\.0 MB$/),
    ]);
  });
});
