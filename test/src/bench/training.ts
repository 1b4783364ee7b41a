/**
 * `npm run bench`: throughput of the pieces the main example spends its time in, on this machine,
 * written to .bench/training.json. Training goes through the real trainer plugin on real
 * permuted Fashion-MNIST data (gather, step graph in the ORT thread, progress); inference through
 * the exported fp32 and RTN-quantized ONNX models.
 */
import { cpus } from 'node:os';
import { buildInferenceModel, deriveSeed, initParams, InferenceSession, mlp } from '@retain/engine';
import { permutedScenario } from '@retain/data';
import { supervisedConfigSchema, trainSupervised } from '@retain/trainer-supervised';
import { quantizePerChannel } from '@retain/quantizer-rtn';
import { writeBenchReport } from './report';

interface Run {
  what: 'train' | 'inference';
  model: string;
  variant: string;
  batch: number;
  samples: number;
  seconds: number;
  samplesPerSec: number;
}

const HIDDEN = [256, 256];
const TRAIN_SAMPLES = 30000;

async function main(): Promise<void> {
  const scenario = await permutedScenario({ dataset: 'fashion-mnist', tasks: 1, trainPerTask: TRAIN_SAMPLES, testPerTask: 10000 }, 0);
  const model = mlp({ inputSize: 784, hidden: HIDDEN, classesPerHead: 10, heads: 1 });
  const modelName = `mlp-784-${HIDDEN.join('-')}-10`;
  const task = scenario.task(0);
  const runs: Run[] = [];

  for (const [optimizer, batch] of [
    [{ name: 'sgd', momentum: 0.9 }, 128],
    [{ name: 'adam' }, 128],
    [{ name: 'sgd', momentum: 0.9 }, 1024],
  ] as const) {
    const config = supervisedConfigSchema.parse({ epochs: 1, batchSize: batch, lr: 0.01, optimizer });
    const outcome = await trainSupervised({
      config,
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
    runs.push(run('train', modelName, config.optimizer.name, batch, outcome.samples, outcome.seconds));
  }

  const params = initParams(model, deriveSeed(0, 'init'));
  const weights = (bits: 4 | 8) =>
    Object.fromEntries(model.params.filter((p) => p.dims.length === 2).map((p) => [p.name, quantizePerChannel(params[p.name], bits)]));
  const variants = {
    fp32: buildInferenceModel(model, 0, params),
    'rtn-int8': buildInferenceModel(model, 0, params, weights(8)),
    'rtn-int4': buildInferenceModel(model, 0, params, weights(4)),
  };
  const batch = 1000;
  const x = task.test.gather(Int32Array.from({ length: batch }, (_, i) => i));
  for (const [variant, bytes] of Object.entries(variants)) {
    const session = await InferenceSession.create(bytes);
    await session.run(x, batch); // warm-up
    const rounds = 20;
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) await session.run(x, batch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await session.close();
    runs.push(run('inference', modelName, variant, batch, rounds * batch, seconds));
  }

  const report = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, runs };
  const path = writeBenchReport('training', report);
  console.log(`${report.cpu}, ${report.cores} cores`);
  for (const r of runs)
    console.log(
      `${r.what.padEnd(9)} ${r.variant.padEnd(8)} batch ${String(r.batch).padStart(4)}  ${Math.round(r.samplesPerSec).toString().padStart(7)} samples/s`,
    );
  console.log(`wrote ${path}`);
}

function run(what: Run['what'], model: string, variant: string, batch: number, samples: number, seconds: number): Run {
  return { what, model, variant, batch, samples, seconds, samplesPerSec: samples / seconds };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
