/**
 * `node test/dist/results/ewc-lambda.js <ewc|online-ewc> <lambda> [tasks] [trainPerTask] [hidden]`:
 * one run of EWC on permuted Fashion-MNIST with the results sweep's trainer (SGD lr 0.01, momentum
 * 0.9, batch 32, 1 epoch; TRAINER='<json>' overrides it), seed 0, calling the trainer and method
 * plugins directly (no Temporal, so a 10-task run takes seconds). Prints, per task, the largest
 * summed Fisher value per param (what the stability bound lr * lambda * F < 2 (1 + momentum)
 * is about), then ACC and BWT. The lambda search in activities/methods/ewc/README.md is made of
 * these runs. Not run in CI.
 */
import { permutedScenario } from '@retain/data';
import { buildInferenceModel, InferenceSession, initParams, mlp, type TensorMap } from '@retain/engine';
import type { TaskData } from '@retain/data';
import type { MethodContext } from '@retain/sdk';
import { supervisedConfigSchema, trainSupervised } from '@retain/trainer-supervised';
import { defaultRegistry } from '@retain/worker';

/** Top-1 accuracy on the task's test set (what the accuracy evaluator computes). */
async function accuracy(session: InferenceSession, task: TaskData): Promise<number> {
  const test = task.test;
  const { logits } = await session.run(test.gather(Int32Array.from({ length: test.n }, (_, i) => i)), test.n);
  const classes = logits.length / test.n;
  let correct = 0;
  for (let n = 0; n < test.n; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    if (row.indexOf(Math.max(...row)) === test.labels[n]) correct++;
  }
  return correct / test.n;
}

async function main(): Promise<void> {
  const [which = 'ewc', lambda = '1', tasks = '10', trainPerTask = '4000', hidden = '128'] = process.argv.slice(2);
  if (which !== 'ewc' && which !== 'online-ewc') throw new Error(`method: give ewc or online-ewc, not '${which}'`);
  const scenario = await permutedScenario({ tasks: Number(tasks), trainPerTask: Number(trainPerTask), testPerTask: 500 }, 0);
  const model = mlp({ inputSize: 784, hidden: [Number(hidden)], classesPerHead: 10, heads: 1 });
  const method = defaultRegistry().get('method', which);
  const config = method.configSchema.parse({ lambda: Number(lambda) });
  const trainer = supervisedConfigSchema.parse(
    JSON.parse(process.env.TRAINER ?? '{"epochs":1,"batchSize":32,"lr":0.01,"optimizer":{"name":"sgd","momentum":0.9}}'),
  );
  let params = initParams(model, 0);
  let state: TensorMap | undefined;
  const R: number[][] = [];
  for (let t = 0; t < scenario.tasks; t++) {
    const task = scenario.task(t);
    const ctx: MethodContext = { config, seed: 0, taskIndex: t, task, model, head: 0, taskData: (j) => scenario.task(j), state };
    const out = await trainSupervised({
      config: trainer,
      seed: 0,
      taskIndex: t,
      task,
      model,
      head: 0,
      params,
      method: await method.training!(ctx),
      progress: () => undefined,
      signal: new AbortController().signal,
    });
    params = out.params;
    state = await method.afterTask!({ ...ctx, params });
    const session = await InferenceSession.create(buildInferenceModel(model, 0, params));
    const row: number[] = [];
    for (let j = 0; j < scenario.tasks; j++) row.push(await accuracy(session, scenario.task(j)));
    await session.close();
    R.push(row);
    const summed: Record<string, Float64Array> = {};
    for (const [name, tensor] of Object.entries(state ?? {})) {
      const param = /fisher\.(.*)$/.exec(name)?.[1];
      if (!param) continue;
      const s = (summed[param] ??= new Float64Array(tensor.data.length));
      tensor.data.forEach((v, i) => (s[i] += v));
    }
    const maxima = Object.entries(summed).map(([p, s]) => `${p} ${Math.max(...s).toFixed(3)}`);
    console.log(`task ${t}: accuracy ${row[t].toFixed(3)}, loss ${out.finalLoss.toFixed(3)}, largest summed Fisher: ${maxima.join(', ')}`);
  }
  const T = scenario.tasks;
  const acc = R[T - 1].reduce((a, b) => a + b, 0) / T;
  const bwt = R[T - 1].slice(0, -1).reduce((s, v, j) => s + v - R[j][j], 0) / Math.max(T - 1, 1);
  console.log(`${which} lambda ${lambda}, ${T} tasks of ${trainPerTask}, hidden ${hidden}: ACC ${acc.toFixed(3)} BWT ${bwt.toFixed(3)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
