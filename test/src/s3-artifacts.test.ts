import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArtifactStore } from '@retain/artifacts';
import { startS3Server, type S3Server } from '@retain/infra';
import type { ExperimentResult } from '@retain/sdk';
import { retainCli } from './cli-process';

const BUCKET = 'retain-e2e';

/**
 * The same spec through the real CLI and worker (separate processes, as on a user's machine),
 * once on the local folder and once with RETAIN_ARTIFACTS on a real S3 server (SeaweedFS).
 */
describe('RETAIN_ARTIFACTS=s3://... end to end', () => {
  let dir: string;
  let s3: S3Server;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-s3-e2e-'));
    s3 = await startS3Server({ dir: join(dir, 'weed'), buckets: [BUCKET] });
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a run on S3 gives the results of the same run on the local folder, and writes no local artifact', async () => {
    const spec = join(dir, 'tiny.yaml');
    writeFileSync(
      spec,
      [
        'name: s3-tiny',
        'seed: 5',
        'benchmark: { name: permuted-fmnist, config: { tasks: 2, trainPerTask: 1000, testPerTask: 300 } }',
        'model: { name: mlp, config: { hidden: [32] } }',
        'trainer: { name: supervised, config: { batchSize: 64 } }',
        `execution: { taskQueue: s3-e2e-${process.pid} }`,
        'quantizers: [ { name: rtn, config: { bits: 8 } } ]',
        '',
      ].join('\n'),
    );
    const s3Env = { ...s3.env, RETAIN_ARTIFACTS: `s3://${BUCKET}/runs` };

    const local = await retainCli(['run', spec, '--out', join(dir, 'local')], { RETAIN_HOME: join(dir, 'home-local') });
    expect({ code: local.code, stderr: local.code === 0 ? '' : local.stderr }).toEqual({ code: 0, stderr: '' });
    const onS3 = await retainCli(['run', spec, '--out', join(dir, 's3')], { RETAIN_HOME: join(dir, 'home-s3'), ...s3Env });
    expect({ code: onS3.code, stderr: onS3.code === 0 ? '' : onS3.stderr }).toEqual({ code: 0, stderr: '' });

    const a = JSON.parse(readFileSync(join(dir, 'local', 'results.json'), 'utf8')) as ExperimentResult;
    const b = JSON.parse(readFileSync(join(dir, 's3', 'results.json'), 'utf8')) as ExperimentResult;
    expect(Object.keys(b.matrices).sort()).toEqual(['fp32', 'rtn-int8']);
    expect(b.matrices).toEqual(a.matrices);
    expect(b.initial).toEqual(a.initial);
    expect(b.models).toEqual(a.models);

    // The S3 run's artifacts are in the bucket, none in its local folder.
    expect(existsSync(join(dir, 'home-s3', 'artifacts'))).toBe(false);
    const bucket = openArtifactStore('/unused', s3Env);
    for (const model of b.models) expect(await bucket.has(model.checkpointRef)).toBe(true);

    // A CLI on "another machine" without RETAIN_ARTIFACTS cannot read the run's results, and says why.
    const elsewhere = await retainCli(['result', b.runId, '--out', join(dir, 'elsewhere')], { RETAIN_HOME: join(dir, 'home-other') });
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/Artifact sha256:[0-9a-f]{64} not found in local folder .*home-other.*RETAIN_ARTIFACTS/s);
    // With the setting, it can.
    const configured = await retainCli(['result', b.runId, '--out', join(dir, 'configured')], {
      RETAIN_HOME: join(dir, 'home-other'),
      ...s3Env,
    });
    expect(configured.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'configured', 'results.json'), 'utf8')).matrices).toEqual(a.matrices);
  });
});
