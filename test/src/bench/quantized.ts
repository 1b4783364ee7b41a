/**
 * `npm run bench:quantized`: size on disk and inference throughput of one model in every export
 * format (fp32, QDQ int8/int4 per-channel and blocked, MatMulNBits int4/int8), written to
 * .bench/quantized.json. The model is an MLP trained for one epoch on permuted Fashion-MNIST;
 * inputs are its test images. A benchmark, not a test: numbers depend on the machine.
 */
import { cpus } from 'node:os';
import {
  buildInferenceModel,
  deriveSeed,
  initParams,
  InferenceSession,
  mlp,
  quantizeRtn,
  type InferenceExportOptions,
  type QuantScheme,
  type TensorMap,
} from '@retain/engine';
import { permutedScenario } from '@retain/data';
import { supervisedConfigSchema, trainSupervised } from '@retain/trainer-supervised';
import { writeBenchReport } from './report';

interface FormatRun {
  name: string;
  bytes: number;
  batch: number;
  samplesPerSec: number;
  /** Mean milliseconds per `session.run` of one batch (thread hop included). */
  latencyMs: number;
  /** Test accuracy of this format, so a fast format that is wrong shows. */
  accuracy: number;
}

const HIDDEN = [256, 256];
const BATCHES = [1, 64, 1024];
const SECONDS_PER_RUN = 1.5;

const FORMATS: { name: string; scheme?: QuantScheme; options?: InferenceExportOptions }[] = [
  { name: 'fp32' },
  { name: 'qdq-int8', scheme: { bits: 8, symmetric: true, granularity: 'per-channel' } },
  { name: 'qdq-int4', scheme: { bits: 4, symmetric: true, granularity: 'per-channel' } },
  { name: 'qdq-int8-block32', scheme: { bits: 8, symmetric: true, granularity: 'block', blockSize: 32 } },
  { name: 'qdq-int4-block32', scheme: { bits: 4, symmetric: true, granularity: 'block', blockSize: 32 } },
  { name: 'qdq-int4-block32-asym', scheme: { bits: 4, symmetric: false, granularity: 'block', blockSize: 32 } },
  {
    name: 'matmulnbits-int4-block32',
    scheme: { bits: 4, symmetric: true, granularity: 'block', blockSize: 32 },
    options: { format: 'matmulnbits', accuracyLevel: 1 },
  },
  {
    name: 'matmulnbits-int4-block32-acc4',
    scheme: { bits: 4, symmetric: true, granularity: 'block', blockSize: 32 },
    options: { format: 'matmulnbits', accuracyLevel: 4 },
  },
  {
    name: 'matmulnbits-int8-block32',
    scheme: { bits: 8, symmetric: true, granularity: 'block', blockSize: 32 },
    options: { format: 'matmulnbits', accuracyLevel: 1 },
  },
];

async function main(): Promise<void> {
  const scenario = await permutedScenario({ tasks: 1, trainPerTask: 10000, testPerTask: 2048 }, 0);
  const model = mlp({ inputSize: 784, hidden: HIDDEN, classesPerHead: 10, heads: 1 });
  const modelName = `mlp-784-${HIDDEN.join('-')}-10`;
  const task = scenario.task(0);
  const { params } = await trainSupervised({
    config: supervisedConfigSchema.parse({ epochs: 1, lr: 0.05 }),
    seed: 0,
    taskIndex: 0,
    task,
    model,
    head: 0,
    params: initParams(model, deriveSeed(0, 'init')),
    method: {},
    progress: () => undefined,
    signal: new AbortController().signal,
  });
  const test = task.test.gather(Int32Array.from({ length: task.test.n }, (_, i) => i));

  const formats: FormatRun[] = [];
  for (const f of FORMATS) {
    const bytes = buildInferenceModel(model, 0, params, f.scheme ? quantizeAll(params, f.scheme) : {}, f.options);
    const session = await InferenceSession.create(bytes);
    try {
      const pred = (await session.run(test, task.test.n)).pred!;
      const accuracy = Array.from(pred).filter((p, i) => Number(p) === task.test.labels[i]).length / task.test.n;
      for (const batch of BATCHES) {
        const x = test.subarray(0, batch * 784);
        await session.run(x, batch); // warm-up
        let rounds = 0;
        const started = process.hrtime.bigint();
        let seconds = 0;
        while (seconds < SECONDS_PER_RUN) {
          await session.run(x, batch);
          rounds++;
          seconds = Number(process.hrtime.bigint() - started) / 1e9;
        }
        formats.push({
          name: f.name,
          bytes: bytes.byteLength,
          batch,
          samplesPerSec: (rounds * batch) / seconds,
          latencyMs: (1000 * seconds) / rounds,
          accuracy,
        });
      }
    } finally {
      await session.close();
    }
  }

  const report = { model: modelName, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, formats };
  const path = writeBenchReport('quantized', report);
  console.log(`${modelName} on ${report.cpu}, ${report.cores} cores`);
  for (const r of formats)
    console.log(
      `${r.name.padEnd(30)} ${String(r.bytes).padStart(8)} B  acc ${r.accuracy.toFixed(4)}  batch ${String(r.batch).padStart(4)}  ${Math.round(r.samplesPerSec).toString().padStart(8)} samples/s  ${r.latencyMs.toFixed(3)} ms`,
    );
  console.log(`wrote ${path}`);
}

function quantizeAll(params: TensorMap, scheme: QuantScheme) {
  return Object.fromEntries(
    Object.entries(params)
      .filter(([, t]) => t.dims.length === 2)
      .map(([name, t]) => [name, quantizeRtn(t, scheme)]),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
