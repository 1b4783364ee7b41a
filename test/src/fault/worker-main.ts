import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { PluginRegistry } from '@retain/sdk';
import { createRetainWorker } from '@retain/worker';
import { faultTestPlugins } from './plugins';

/**
 * A worker process for fault tests: the built-in plugins plus the test-only ones (./plugins.ts),
 * on the server at TEMPORAL_ADDRESS, queue argv[2], artifacts under argv[3], heartbeats at most argv[4] ms apart
 * (default: the product's). Prints 'worker polling' when ready.
 */
async function main(): Promise<void> {
  const [queue, artifactsDir, heartbeatMs] = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await createRetainWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: queue,
    artifactsDir,
    bundleCacheDir: join(artifactsDir, '..', 'cache'),
    registry: new PluginRegistry(faultTestPlugins),
    heartbeatThrottleMs: heartbeatMs ? Number(heartbeatMs) : undefined,
  });
  process.stderr.write(`worker polling ${queue}\n`);
  await worker.run();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
