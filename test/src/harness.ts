import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import type { ExperimentResult, ExperimentSpec } from '@retain/sdk';
import { createRetainWorker, defaultRegistry, experimentResultOf, workflowsPath } from '@retain/worker';
import { experimentWorkflow } from '@retain/workflows';

/**
 * A real Temporal client and worker for integration tests, against the dev server that the
 * global setup started (TEMPORAL_ADDRESS). Each harness has its own task queue and artifact dir.
 */
export interface Harness {
  client: Client;
  worker: Worker;
  taskQueue: string;
  artifactsDir: string;
  /** Runs one experiment to completion through the real workflow and worker. */
  run(spec: ExperimentSpec, runId?: string): Promise<ExperimentResult>;
  close(): Promise<void>;
}

let bundle: Promise<WorkflowBundle> | undefined;

/** Webpack-bundling the workflows takes seconds: do it once per test file. */
export function workflowBundle(): Promise<WorkflowBundle> {
  return (bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietLogger }));
}

/** Worker state changes at INFO would bury test output; the runtime is per process, so install once. */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

export async function createHarness(name: string): Promise<Harness> {
  quietRuntime();
  const address = process.env.TEMPORAL_ADDRESS;
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run these tests through jest (test/jest.config.js starts a dev server)');
  const taskQueue = `${name}-${process.pid}-${Date.now()}`;
  const artifactsDir = mkdtempSync(join(tmpdir(), `retain-${name}-`));
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace });
  const worker = await createRetainWorker({
    connection: native,
    namespace,
    taskQueue,
    artifactsDir,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  let count = 0;
  return {
    client,
    worker,
    taskQueue,
    artifactsDir,
    run: async (spec, runId) =>
      experimentResultOf(
        await client.workflow.execute(experimentWorkflow, {
          taskQueue,
          workflowId: runId ?? `${taskQueue}-${count++}`,
          args: [{ spec: { ...spec, execution: { taskQueue } } }],
        }),
        artifactsDir,
      ),
    close: async () => {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      rmSync(artifactsDir, { recursive: true, force: true });
    },
  };
}

/** A small but real experiment: permuted Fashion-MNIST subsets, an MLP, int8 and int4 RTN. */
export function smallPermutedSpec(overrides: Record<string, unknown> = {}): ExperimentSpec {
  return defaultRegistry().validateSpec({
    name: 'it-permuted',
    seed: 7,
    benchmark: { name: 'permuted-fmnist', config: { tasks: 2, trainPerTask: 12000, testPerTask: 2000 } },
    model: { name: 'mlp', config: { hidden: [128] } },
    trainer: { name: 'supervised', config: { epochs: 1, batchSize: 64, lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } } },
    method: 'naive',
    quantizers: [
      { name: 'rtn', config: { bits: 8 } },
      { name: 'rtn', config: { bits: 4 } },
    ],
    ...overrides,
  });
}

const quietLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
  log: () => undefined,
};
