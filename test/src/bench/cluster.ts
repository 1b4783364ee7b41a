/**
 * `npm run bench:cluster [-- --experiments 8 --tasks 1 --steps 20000 --rounds 2]`, as root: throughput of
 * Retain on separate hosts (network namespaces on this machine: a Temporal server, SeaweedFS, one or
 * two worker hosts, a client; see test/src/cluster/), written to .bench/cluster.json.
 *
 * The same workload (N small experiments started at once) runs three times: on one worker host
 * with a local artifact folder, on one worker host with the S3 store, and on two worker hosts with
 * the S3 store. Each worker uses one onnxruntime thread and one slot, so two hosts are two cores'
 * worth of training on this 2-core machine (the servers share those cores too). Reported: wall
 * time, experiments per hour, the scaling efficiency of two hosts over one, the share of worker
 * time not spent in activities (orchestration), the bytes the S3 host sent and received per task
 * (its network interface's counters), and the S3 store's share of wall time (S3 against the local
 * folder on one host).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startTestCluster, type TestCluster } from '../cluster/cluster';
import { eventMillis, round, writeBenchReport } from './report';

interface Trial {
  name: string;
  round: number;
  hosts: number;
  store: 's3' | 'local';
  wallSeconds: number;
  experimentsPerHour: number;
  /** Sum over the runs' activities of their execution time (started to completed), seconds. */
  activitySeconds: number;
  /** 1 - activity time / (worker hosts x wall): what the workers spent waiting on orchestration. */
  orchestrationShare: number;
  s3BytesPerTask?: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      experiments: { type: 'string', default: '8' },
      tasks: { type: 'string', default: '1' },
      steps: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const experiments = positive('experiments', values.experiments);
  const tasks = positive('tasks', values.tasks);
  const steps = positive('steps', values.steps);
  const rounds = positive('rounds', values.rounds);
  const cluster = await startTestCluster(['w1', 'w2', 'client']);
  const load = loadavg()[0];
  try {
    // Every configuration once per round, in turn, so a slow spell of this shared machine does not
    // land on one configuration only; each is reported by its fastest round.
    const trials: Trial[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const [name, hosts, store] of [
        ['1 host, local folder', 1, 'local'],
        ['1 host, S3', 1, 's3'],
        ['2 hosts, S3', 2, 's3'],
      ] as const) {
        trials.push(await trial(cluster, { name, hosts, store, experiments, tasks, steps, round }));
        process.stderr.write(`${JSON.stringify(trials[trials.length - 1])}\n`);
      }
    }
    const best = (name: string) => trials.filter((t) => t.name === name).sort((a, b) => a.wallSeconds - b.wallSeconds)[0];
    const [local, oneHost, twoHosts] = [best('1 host, local folder'), best('1 host, S3'), best('2 hosts, S3')];
    const report = {
      machine: { cpus: cpus().length, loadBefore: round(load) },
      workload: { experiments, tasksPerExperiment: tasks, stepsPerTask: steps, model: 'mlp [64]', batchSize: 32, threadsPerWorker: 1 },
      trials,
      best: [local, oneHost, twoHosts],
      scalingEfficiencyAt2Hosts: round(twoHosts.experimentsPerHour / (2 * oneHost.experimentsPerHour), 3),
      s3ShareOfWall: round((oneHost.wallSeconds - local.wallSeconds) / oneHost.wallSeconds, 3),
      secondsPerTask: round(local.activitySeconds / (experiments * tasks), 2),
    };
    const path = writeBenchReport('cluster', report);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\nwritten to ${path}\n`);
  } finally {
    await cluster.stop();
  }
}

async function trial(
  cluster: TestCluster,
  opts: { name: string; hosts: number; store: 's3' | 'local'; experiments: number; tasks: number; steps: number; round: number },
): Promise<Trial> {
  const tag = `${opts.hosts}h-${opts.store}-${opts.round}`;
  const queue = `bench-${tag}`;
  const spec = join(cluster.dir, `${tag}.yaml`);
  writeFileSync(
    spec,
    [
      `name: bench-${tag}`,
      'seed: 0',
      `benchmark: { name: permuted-fmnist, config: { tasks: ${opts.tasks}, trainPerTask: 4000, testPerTask: 1000 } }`,
      'model: { name: mlp, config: { hidden: [64] } }',
      `trainer: { name: supervised, config: { steps: ${opts.steps}, batchSize: 32, lr: 0.01 } }`,
      'quantizers: [{ name: rtn, config: { bits: 4 } }]',
      `execution: { taskQueue: ${queue} }`,
      '',
    ].join('\n'),
  );
  // The local folder is one directory that the worker and the client both use (one machine's disk).
  const local = opts.store === 'local' ? { RETAIN_ARTIFACTS: '', RETAIN_HOME: join(cluster.dir, `home-${tag}`) } : undefined;
  const workerHosts = ['w1', 'w2'].slice(0, opts.hosts);
  const workers = [];
  for (const host of workerHosts) {
    workers.push(await cluster.startWorker(host, ['--queue', queue, '--threads', '1'], local));
  }
  const s3Before = interfaceBytes(cluster.net.hosts.s3.netns);
  const started = Date.now();
  const runIds = await Promise.all(
    Array.from({ length: opts.experiments }, (_, i) =>
      cluster.retainOn('client', ['run', spec, '--detach', '--id', `${tag}-${i}`], local).then((r) => {
        if (r.code !== 0) throw new Error(`retain run --detach failed: ${r.stderr}`);
        return r.stdout.trim();
      }),
    ),
  );
  const connection = await Connection.connect({ address: cluster.temporalAddress });
  try {
    const client = new Client({ connection });
    await Promise.all(runIds.map((id) => client.workflow.getHandle(id).result()));
    const wallSeconds = (Date.now() - started) / 1000;
    const s3Bytes = interfaceBytes(cluster.net.hosts.s3.netns) - s3Before;
    let activityMs = 0;
    for (const id of runIds) {
      for await (const run of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
        const events = (await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
        const startedAt = new Map<string, number>();
        for (const e of events) {
          if (e.activityTaskStartedEventAttributes)
            startedAt.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), eventMillis(e.eventTime));
          const done = e.activityTaskCompletedEventAttributes;
          if (done) activityMs += eventMillis(e.eventTime) - (startedAt.get(String(done.scheduledEventId)) ?? NaN);
        }
      }
    }
    const activitySeconds = activityMs / 1000;
    return {
      name: opts.name,
      round: opts.round,
      hosts: opts.hosts,
      store: opts.store,
      wallSeconds: round(wallSeconds, 1),
      experimentsPerHour: round((opts.experiments / wallSeconds) * 3600, 1),
      activitySeconds: round(activitySeconds, 1),
      orchestrationShare: round(1 - activitySeconds / (opts.hosts * wallSeconds), 3),
      ...(opts.store === 's3' ? { s3BytesPerTask: Math.round(s3Bytes / (opts.experiments * opts.tasks)) } : {}),
    };
  } finally {
    await connection.close();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode !== null ? resolve(undefined) : w.once('close', resolve)))));
  }
}

/** Bytes received plus sent on every interface of a network namespace but loopback. */
function interfaceBytes(netns: string): number {
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-s', '-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{
    ifname: string;
    stats64?: { rx: { bytes: number }; tx: { bytes: number } };
  }>;
  return links.filter((l) => l.ifname !== 'lo').reduce((sum, l) => sum + (l.stats64?.rx.bytes ?? 0) + (l.stats64?.tx.bytes ?? 0), 0);
}

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a whole number of at least 1, got ${value}`);
  return n;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
