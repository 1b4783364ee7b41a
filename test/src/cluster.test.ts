import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client, defaultPayloadConverter } from '@temporalio/client';
import { probeTemporal, resolveTemporalCli, searchAttributeFlags, startS3Server, type S3Server } from '@retain/infra';
import type { ExperimentResult, TrainHeartbeat } from '@retain/sdk';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';
import { CLI, retainCli } from './cli-process';
import { createTestNetwork, type TestNetwork } from './cluster/network';

/**
 * Retain across machines: separate hosts are network namespaces (cluster/network.ts), one runs the
 * Temporal server, one the S3 object store (SeaweedFS), two run workers, one the client. Workers
 * share nothing but the Temporal server and the bucket: each has its own RETAIN_HOME.
 *
 * 4 tasks of 6000 steps of batch 32 (about 4 s each here) and a checkpoint every 500 steps, so the
 * test sees task 1's first checkpoints and kills its worker's host with most of the task to go.
 */
const SPEC = [
  'name: cluster',
  'seed: 3',
  'benchmark: { name: permuted-fmnist, config: { tasks: 4, trainPerTask: 2000, testPerTask: 500 } }',
  'model: { name: mlp, config: { hidden: [64] } }',
  'trainer: { name: supervised, config: { steps: 6000, batchSize: 32, lr: 0.01, checkpointEvery: 500 } }',
  'quantizers: [{ name: rtn, config: { bits: 4 } }]',
  // The shortest allowed: a dead host's training runs again on the other about 3 s later.
  'execution: { taskQueue: cluster, heartbeatTimeoutSeconds: 3 }',
];

describe('a run across hosts (network namespaces): Temporal, S3, two workers, a client', () => {
  let dir: string;
  let net: TestNetwork;
  let s3: S3Server;
  let temporalAddress: string;
  let specPath: string;
  /** What each host's processes see: the cluster's server and bucket, a home of their own. */
  const envOf = (host: string): Record<string, string> => ({
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    RETAIN_ARTIFACTS: 's3://cluster/runs',
    ...s3.env,
    RETAIN_HOME: join(dir, host),
  });
  const output: Record<string, string> = {};
  const onHost = (host: string, args: string[]) =>
    net.spawnOn(
      host,
      process.execPath,
      [CLI, ...args],
      { ...process.env, ...envOf(host) },
      (text) => (output[host] = (output[host] ?? '') + text),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retain-cluster-'));
    specPath = join(dir, 'cluster.yaml');
    writeFileSync(specPath, `${SPEC.join('\n')}\n`);
    net = createTestNetwork(['temporal', 's3', 'w1', 'w2', 'client']);
    const cli = await resolveTemporalCli({ install: false, toolsDir: join(__dirname, '../../.retain/tools') });
    temporalAddress = `${net.hosts.temporal.address}:7233`;
    const server = net.spawnOn(
      'temporal',
      cli.path,
      // Every address of its host: with --ip set to one non-loopback address, the dev server (CLI
      // 1.9.1) dials its own internal services on 127.0.0.1 and fails to start workflows.
      ['server', 'start-dev', '--headless', '--ip', '0.0.0.0', '--port', '7233', '--db-filename', join(dir, 'temporal.sqlite')].concat(
        searchAttributeFlags({ ...RUN_SEARCH_ATTRIBUTES }),
      ),
      process.env,
      (text) => (output.temporal = (output.temporal ?? '') + text),
    );
    s3 = await startS3Server({ dir: join(dir, 's3'), buckets: ['cluster'], host: net.hosts.s3.address, netns: net.hosts.s3.netns });
    const deadline = Date.now() + 60_000;
    while (!(await probeTemporal(temporalAddress, 'default', 1_000)).ok) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the Temporal host did not come up:\n${output.temporal}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(async () => {
    await s3?.stop();
    net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('killing the host that trains mid-task: the run finishes on the other host, bit for bit the single-machine run', async () => {
    // The same spec on one machine: this test run's own server, an in-process worker, a local folder.
    const single = retainCli(['run', specPath, '--out', join(dir, 'single')], { RETAIN_HOME: join(dir, 'single-home') });

    const workers = ['w1', 'w2'].map((host) => onHost(host, ['worker', '--queue', 'cluster']));
    await waitUntil(
      () => ['w1', 'w2'].every((h) => /worker polling/.test(output[h] ?? '')),
      60_000,
      () => JSON.stringify(output),
    );
    const started = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const client = net.spawnOn('client', process.execPath, [CLI, 'run', specPath, '--detach'], { ...process.env, ...envOf('client') });
      client.stdout?.on('data', (d: Buffer) => (stdout += d));
      client.stderr?.on('data', (d: Buffer) => (stderr += d));
      client.on('close', (code) =>
        code === 0 ? resolve(stdout.trim()) : reject(new Error(`retain run --detach exited ${code}:\n${stderr}`)),
      );
    });

    // Watch from outside, as an operator would: which worker trains task 1, once it has checkpoints.
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const handle = new Client({ connection }).workflow.getHandle(started);
      let trainer: string | undefined;
      let seen = '';
      await waitUntil(
        async () => {
          const description = await handle.describe();
          const pending = description.raw.pendingActivities ?? [];
          seen = `${description.status.name}: ${pending.map((a) => `${a.activityType?.name} attempt ${a.attempt} ${a.lastFailure?.message ?? ''}`).join('; ')}`;
          for (const a of pending) {
            if (a.activityType?.name !== 'trainTask') continue;
            const payload = a.heartbeatDetails?.payloads?.[0];
            const beat = payload ? defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload) : undefined;
            if (beat?.taskIndex === 1 && (beat.checkpoint?.step ?? 0) >= 500) trainer = a.lastWorkerIdentity ?? undefined;
          }
          return trainer !== undefined;
        },
        120_000,
        () => `no worker reached a checkpoint of task 1 (run ${seen}); worker output: ${JSON.stringify(output)}`,
      );
      // A worker's identity is <pid>@<hostname>; the pid says which host it runs on.
      const pid = Number(trainer!.split('@')[0]);
      const victim = ['w1', 'w2'].find((h) => net.pids(h).includes(pid));
      expect(victim).toBeDefined();
      net.kill(victim!);
      const survivor = victim === 'w1' ? 'w2' : 'w1';

      const result = await new Promise<number>((resolve) =>
        onHost('client', ['result', started, '--out', join(dir, 'cluster-out')]).on('close', (code) => resolve(code ?? -1)),
      );
      expect(result).toBe(0);
      const cluster = JSON.parse(readFileSync(join(dir, 'cluster-out', 'results.json'), 'utf8')) as ExperimentResult;
      const reference = await single;
      expect(reference.code).toBe(0);
      const local = JSON.parse(readFileSync(join(dir, 'single', 'results.json'), 'utf8')) as ExperimentResult;
      expect(cluster.matrices).toEqual(local.matrices);
      expect(cluster.initial).toEqual(local.initial);
      expect(cluster.models).toEqual(local.models);
      // Task 1 resumed on the other host from a checkpoint the dead one wrote to the bucket.
      expect(cluster.training[1].resumedAt).toBeGreaterThanOrEqual(500);
      expect(net.pids(victim!)).toEqual([]);
      expect(workers.find((_, i) => ['w1', 'w2'][i] === survivor)!.exitCode).toBeNull();
    } finally {
      await connection.close();
    }
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, explain: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
