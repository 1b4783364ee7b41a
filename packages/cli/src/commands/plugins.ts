import { totalmem } from 'node:os';
import { Option, type Command } from 'commander';
import {
  DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  formatBytes,
  type ExperimentSpec,
  type PluginRegistry,
} from '@retain/sdk';
import { resolvePlugins } from '@retain/worker';
import { isSweepSpec } from '@retain/sdk';
import { specQueues } from '@retain/workflows';
import { log } from '../output';
import { machineLimits, readSpecDocument } from '../spec-file';
import { planSweep } from '../sweep';

/**
 * The builtins plus the plugin packages of the project in the current directory (package.json
 * `retain.plugins`, retain.config.json) and of `--plugins`: the same list validates specs and
 * runs them in this process's worker.
 */
export async function pluginRegistry(packages: string[] | undefined): Promise<PluginRegistry> {
  return (await resolvePlugins({ packages })).registry;
}

export function pluginsOption(): Option {
  return new Option(
    '--plugins <packages>',
    'plugin packages to load besides those in package.json "retain.plugins" and retain.config.json (comma-separated)',
  ).argParser((v: string, previous: string[] | undefined) => [
    ...(previous ?? []),
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ]);
}

/** `validate` and `plugins`: what a spec means and what it may name, without a server. */
export function addSpecCommands(program: Command): void {
  program
    .command('validate')
    .description('check a spec without running it (a sweep: every cell)')
    .argument('<spec>', 'experiment spec (YAML)')
    .addOption(pluginsOption())
    .action(async (specPath: string, opts: { plugins?: string[] }) => {
      const registry = await pluginRegistry(opts.plugins);
      const raw = readSpecDocument(specPath);
      if (!isSweepSpec(raw)) {
        const spec = registry.validateSpec(raw, machineLimits());
        process.stdout.write(`${JSON.stringify(withEveryDefault(spec), null, 2)}\n`);
        logMemoryEstimate(registry, spec);
        return;
      }
      // A sweep: every cell is validated; the base spec is printed, the cells counted.
      const { spec, cells } = planSweep(raw, registry, (raw as { name?: string }).name ?? 'sweep');
      process.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
      const groups = new Set(cells.map((c) => c.group)).size;
      const seeds = new Set(cells.map((c) => c.seed)).size;
      const shape = groups * seeds === cells.length ? `${groups} groups × ${seeds} seeds` : `${groups} groups`;
      log(`${specPath}: a sweep of ${cells.length} cells (${shape}), every cell valid`);
    });

  program
    .command('plugins')
    .description("list the plugins this installation knows: the builtins and those of the project's plugin packages")
    .addOption(pluginsOption())
    .action(async (opts: { plugins?: string[] }) => {
      for (const { plugin: p, from } of (await resolvePlugins({ packages: opts.plugins })).plugins) {
        const source = from === 'builtin' ? 'builtin' : `${from.package} (${from.source})`;
        process.stdout.write(`${p.kind.padEnd(10)} ${p.name.padEnd(16)} ${source.padEnd(12)} ${p.description}\n`);
      }
    });
}

/**
 * The spec as a run will see it: the settings validation leaves unset so that a spec without them
 * validates (and stores in results.json) exactly as before are shown with the values they take.
 */
export function withEveryDefault(spec: ExperimentSpec): ExperimentSpec {
  const queues = specQueues(spec);
  return {
    ...spec,
    execution: {
      ...spec.execution,
      queues: { train: queues.train, finish: queues.finish },
      heartbeatTimeoutSeconds: spec.execution.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
      continueAsNewAfterEvents: spec.execution.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
    },
    evaluation: spec.evaluation ?? { tasks: 'all' },
  };
}

/** `validate`'s line on stderr: the run's estimated peak memory, its terms, and this machine's memory. */
function logMemoryEstimate(registry: PluginRegistry, spec: ExperimentSpec): void {
  const memory = registry.memoryEstimate(spec);
  if (!memory) return;
  const terms = memory.terms
    .filter((t) => t.bytes > 0)
    .map((t) => `${t.what} ${formatBytes(t.bytes)}`)
    .join(', ');
  log(`memory: about ${formatBytes(memory.peakBytes)} at the run's peak (${terms}); this machine has ${formatBytes(totalmem())}`);
}
