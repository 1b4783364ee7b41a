import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retainCli, startRetain } from './cli-process';

describe('retain CLI (built, as a separate process)', () => {
  let dir: string;
  /** Writes a spec from YAML lines into the test's folder and returns its path. */
  const writeSpec = (file: string, lines: string[]) => {
    const path = join(dir, file);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'retain-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`retain run` trains, prints the matrices and metrics, and writes results.json', async () => {
    const spec = writeSpec('tiny.yaml', [
      'name: cli-tiny',
      'seed: 3',
      'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 2000, testPerTask: 500 } }',
      'model: { name: mlp, config: { hidden: [64] } }',
      'trainer: { name: supervised, config: { batchSize: 64 } }',
      `execution: { taskQueue: cli-${process.pid} }`,
      'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
    ]);
    const out = join(dir, 'out');
    const { code, stdout, stderr } = await retainCli(['run', spec, '--out', out], { RETAIN_HOME: join(dir, 'state') });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/Accuracy, fp32/);
    expect(stdout).toMatch(/Accuracy, rtn-int8/);
    expect(stdout).toMatch(/ACC/);
    expect(stdout).toMatch(/quantizer\s+ACC gap\s+mean gap\s+QIF\s+crossing\s+fixed-grid crossing\s+bytes\nrtn-int8 /);
    expect(stderr).toMatch(/results written to/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.runId).toMatch(/^cli-tiny-/);
    expect(results.spec.name).toBe('cli-tiny');
    expect(results.tasks).toHaveLength(2);
    expect(Object.keys(results.matrices).sort()).toEqual(['fp32', 'rtn-int8']);
    for (const key of ['fp32', 'rtn-int8']) {
      expect(results.matrices[key]).toHaveLength(2);
      expect(Object.keys(results.metrics[key]).sort()).toEqual(['acc', 'bwt', 'forgetting', 'fwt']);
    }
    expect(results.quantization['rtn-int8'].bucketCrossingRate).toHaveLength(2);
    expect(results.quantization['rtn-int8'].fixedGridCrossingRate).toEqual([null, expect.any(Number)]);
  });

  it('rejects a bad spec with exit code 2, naming the field, before contacting any server', async () => {
    const spec = writeSpec('bad.yaml', [
      'name: bad',
      'benchmark: permuted-fmnist',
      'model: mlp',
      'trainer: { name: supervised, config: { batchSize: -4 } }',
    ]);
    // An address nothing listens on: if the CLI tried to connect, it would fail differently.
    const { code, stderr } = await retainCli(['run', spec], { TEMPORAL_ADDRESS: '127.0.0.1:1', RETAIN_HOME: join(dir, 'state') });
    expect(code).toBe(2);
    expect(stderr).toMatch(/trainer\.config\.batchSize/);
  });

  it('`retain run --detach` prints only the run id', async () => {
    const spec = writeSpec('detached.yaml', [
      'name: cli-detached',
      'benchmark: { name: permuted-fmnist, config: { tasks: 1, trainPerTask: 100, testPerTask: 100 } }',
      'model: mlp',
      'trainer: supervised',
      // No worker polls this queue: the run waits, which is what --detach promises.
      `execution: { taskQueue: nobody-${process.pid} }`,
    ]);
    const { code, stdout } = await retainCli(['run', spec, '--detach'], { RETAIN_HOME: join(dir, 'state') });
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^cli-detached-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/);
  });

  it('Ctrl-C stops the worker, not the run: `retain worker` and `retain result` finish it', async () => {
    const queue = `cli-interrupt-${process.pid}`;
    const spec = writeSpec('interrupted.yaml', [
      'name: cli-interrupted',
      'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 3000, testPerTask: 300 } }',
      'model: { name: mlp, config: { hidden: [32] } }',
      'trainer: supervised',
      `execution: { taskQueue: ${queue} }`,
    ]);
    const env = { RETAIN_HOME: join(dir, 'state') };
    const run = startRetain(['run', spec], env, /run (\S+) started/);
    await run.ready;
    const runId = /run (\S+) started/.exec(run.output().stderr)![1];
    run.child.kill('SIGINT');
    expect({ code: await run.exited, stderr: run.output().stderr }).toMatchObject({ code: 130 });
    expect(run.output().stderr).toMatch(new RegExp(`npx retain result ${runId}`));

    const worker = startRetain(['worker', '--queue', queue], env, /worker polling/);
    await worker.ready;
    const out = join(dir, 'resumed');
    const result = await retainCli(['result', runId, '--out', out], env);
    worker.child.kill('SIGINT');
    expect(await worker.exited).toBe(0);
    expect(result.code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.runId).toBe(runId);
    expect(results.matrices.fp32).toHaveLength(2);
  });
});
