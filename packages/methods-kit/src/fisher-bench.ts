/**
 * `node packages/methods-kit/dist/fisher-bench.js [samples] [hidden]` (after `npm run build`):
 * the Fisher diagonal of an MLP 784-<hidden>-10 on one permuted Fashion-MNIST task, by the
 * one-sample loop and by the batched linear-layer graph; prints both times and the largest
 * relative difference and writes .bench/fisher.json. Best of 3 runs each (the machine is shared).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { permutedScenario } from '@retain/data';
import { initParams, mlp } from '@retain/engine';
import { fisherDiagonal } from './fisher';

async function main(): Promise<void> {
  const [samples = '500', hidden = '128'] = process.argv.slice(2);
  const scenario = await permutedScenario({ tasks: 1, trainPerTask: Number(samples), testPerTask: 100 }, 0);
  const model = mlp({ inputSize: 784, hidden: [Number(hidden)], classesPerHead: 10, heads: 1 });
  const opts = {
    model,
    head: 0,
    params: initParams(model, 0),
    samples: scenario.task(0).train,
    count: Number(samples),
    seed: 0,
    taskIndex: 0,
  };
  const best = async (method: 'auto' | 'per-sample') => {
    let seconds = Infinity;
    let fisher = await fisherDiagonal({ ...opts, method });
    for (let k = 0; k < 3; k++) {
      const t0 = process.hrtime.bigint();
      fisher = await fisherDiagonal({ ...opts, method });
      seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return { seconds, fisher };
  };
  const loop = await best('per-sample');
  const batched = await best('auto');
  let maxRelative = 0;
  for (const p of Object.keys(loop.fisher)) {
    const scale = Math.max(...loop.fisher[p].data);
    loop.fisher[p].data.forEach((v, i) => (maxRelative = Math.max(maxRelative, Math.abs(batched.fisher[p].data[i] - v) / scale)));
  }
  const result = {
    model: model.name,
    samples: Number(samples),
    perSampleSeconds: loop.seconds,
    batchedSeconds: batched.seconds,
    speedup: loop.seconds / batched.seconds,
    maxRelativeDifference: maxRelative,
  };
  console.log(JSON.stringify(result, null, 2));
  const dir = resolve(__dirname, '../../../.bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fisher.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
