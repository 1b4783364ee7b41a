import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeTemporal, resolveTemporalCli, searchAttributeFlags, startS3Server, type S3Server } from '@retain/infra';
import { RUN_SEARCH_ATTRIBUTES } from '@retain/workflows';
import { retainCli, startRetain, type CliOutput } from '../cli-process';
import { createTestNetwork, type TestNetwork } from './network';

/**
 * A Retain cluster on separate hosts of this machine (network namespaces, see network.ts): a
 * Temporal server on host `temporal`, SeaweedFS on host `s3`, and the hosts named by the caller for
 * workers and clients. Every Retain process gets the cluster's server and bucket and a home of its
 * own, so hosts share nothing else. Used by the cluster test and `npm run bench:cluster`.
 */
export interface TestCluster {
  net: TestNetwork;
  s3: S3Server;
  /** host:port of the Temporal frontend, reachable from every host and from this process. */
  temporalAddress: string;
  dir: string;
  /** What a Retain process on `host` gets over this process's environment; `extra` adds to it (e.g. another RETAIN_ARTIFACTS). */
  envOf(host: string, extra?: Record<string, string>): Record<string, string | undefined>;
  /** Everything each host's processes printed, for failure messages. */
  output: Record<string, string>;
  /** Starts `retain worker <args>` on `host` (`extra` adds to its environment); resolves once it polls. */
  startWorker(host: string, args: string[], extra?: Record<string, string>): Promise<ChildProcess>;
  /** Runs `retain <args>` on `host` to completion. */
  retainOn(host: string, args: string[], extra?: Record<string, string>): Promise<CliOutput>;
  stop(): Promise<void>;
}

export const BUCKET = 'cluster';

export async function startTestCluster(hosts: string[]): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'retain-cluster-'));
  const net = createTestNetwork(['temporal', 's3', ...hosts]);
  const output: Record<string, string> = {};
  const record = (host: string) => (text: string) => (output[host] = (output[host] ?? '') + text);
  let s3: S3Server | undefined;
  const stop = async (): Promise<void> => {
    await s3?.stop();
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cli = await resolveTemporalCli({ install: false, toolsDir: join(__dirname, '../../../.retain/tools') });
    const temporalAddress = `${net.hosts.temporal.address}:7233`;
    // Every address of its host: with --ip set to one non-loopback address, the dev server (CLI
    // 1.9.1) dials its own internal services on 127.0.0.1 and fails to start workflows.
    const server = net.spawnOn(
      'temporal',
      cli.path,
      ['server', 'start-dev', '--headless', '--ip', '0.0.0.0', '--port', '7233', '--db-filename', join(dir, 'temporal.sqlite')].concat(
        searchAttributeFlags({ ...RUN_SEARCH_ATTRIBUTES }),
      ),
      process.env,
      record('temporal'),
    );
    s3 = await startS3Server({ dir: join(dir, 's3'), buckets: [BUCKET], host: net.hosts.s3.address, netns: net.hosts.s3.netns });
    const deadline = Date.now() + 60_000;
    while (!(await probeTemporal(temporalAddress, 'default', 1_000)).ok) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the Temporal host did not come up:\n${output.temporal}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const store = s3;
    // The cluster's server and bucket only: a developer's (or the test run's) TEMPORAL_* and AWS_* settings are unset.
    const unset = Object.fromEntries(
      Object.keys(process.env)
        .filter((name) => name.startsWith('TEMPORAL_') || name.startsWith('AWS_'))
        .map((name) => [name, undefined]),
    );
    const envOf = (host: string, extra: Record<string, string> = {}): Record<string, string | undefined> => ({
      ...unset,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      RETAIN_ARTIFACTS: `s3://${BUCKET}/runs`,
      ...store.env,
      RETAIN_HOME: join(dir, host),
      ...extra,
    });
    return {
      net,
      s3: store,
      temporalAddress,
      dir,
      envOf,
      output,
      startWorker: async (host, args, extra) => {
        const worker = startRetain(['worker', ...args], envOf(host, extra), /worker polling/, net.hosts[host].netns);
        worker.child.stdout?.on('data', (d: Buffer) => record(host)(d.toString()));
        worker.child.stderr?.on('data', (d: Buffer) => record(host)(d.toString()));
        await worker.ready;
        return worker.child;
      },
      retainOn: (host, args, extra) => retainCli(args, envOf(host, extra), undefined, net.hosts[host].netns),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
