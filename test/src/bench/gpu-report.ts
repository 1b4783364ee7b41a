/**
 * The GPU check's last step (test/bench/gpu-check.sh): puts the engine bench rows measured on the
 * GPU (one step per run and K steps per run) and the permuted Fashion-MNIST run on the GPU against
 * the same run on the CPU into one report, `gpu.json`, and fails when an accuracy differs by more
 * than the tolerance.
 *
 *   node test/dist/bench/gpu-report.js --bench a.json,b.json --gpu-run gpu/results.json --cpu-run cpu/results.json
 *                                      [--bf16-run gpu-bf16/results.json] --out gpu.json
 * The bf16 run (trainer mixedPrecision: bf16) is set against the GPU's fp32 run and reported, not judged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ExperimentResult } from '@retain/sdk';

/** The bound on |GPU - CPU| for any cell of any model's accuracy matrix. */
export const MATRIX_TOLERANCE = 0.002;

/** The largest |a - b| over every cell of every model both runs have, and where it is. */
export function largestMatrixDifference(
  gpu: Pick<ExperimentResult, 'matrices'>,
  cpu: Pick<ExperimentResult, 'matrices'>,
): { difference: number; model: string; row: number; column: number; cells: number } {
  const worst = { difference: 0, model: '', row: -1, column: -1, cells: 0 };
  for (const [model, matrix] of Object.entries(cpu.matrices)) {
    const other = gpu.matrices[model];
    if (!other) throw new Error(`the GPU run has no '${model}' matrix`);
    matrix.forEach((row, i) =>
      row.forEach((cell, j) => {
        const g = other[i]?.[j];
        if (cell === null || g === null || g === undefined) return;
        worst.cells++;
        const difference = Math.abs(g - cell);
        if (difference > worst.difference) Object.assign(worst, { difference, model, row: i, column: j });
      }),
    );
  }
  return worst;
}

function main(): void {
  const args = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!, argv[i + 1]!);
  const need = (flag: string) => {
    const v = args.get(flag);
    if (v === undefined) throw new Error(`gpu-report: ${flag} is required`);
    return v;
  };
  const bench = need('--bench')
    .split(',')
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ExperimentResult;
  const [gpuRun, cpuRun] = [read(need('--gpu-run')), read(need('--cpu-run'))];
  const run = largestMatrixDifference(gpuRun, cpuRun);
  const bf16File = args.get('--bf16-run');
  const bf16 = bf16File ? largestMatrixDifference(read(bf16File), gpuRun) : undefined;
  const report = {
    gpu: bench[0]?.gpu ?? null,
    device: bench[0]?.device ?? null,
    torch: bench[0]?.torch ?? null,
    bench,
    permutedFmnist: { ...run, tolerance: MATRIX_TOLERANCE, within: run.difference <= MATRIX_TOLERANCE, spec: gpuRun.spec.name },
    permutedFmnistBf16AgainstFp32: bf16 ?? null,
  };
  writeFileSync(need('--out'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `permuted Fashion-MNIST, GPU against CPU: largest accuracy difference ${run.difference.toFixed(4)} over ${run.cells} cells` +
      (run.difference > 0 ? ` (${run.model}, after task ${run.row}, task ${run.column})` : '') +
      `; tolerance ${MATRIX_TOLERANCE}`,
  );
  if (bf16)
    console.log(
      `bf16 products against fp32, both on the GPU: largest accuracy difference ${bf16.difference.toFixed(4)} over ${bf16.cells} cells`,
    );
  if (run.difference > MATRIX_TOLERANCE || run.cells === 0) process.exit(1);
}

if (require.main === module) main();
