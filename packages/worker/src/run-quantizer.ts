import type { Scenario } from '@retain/data';
import type { TensorMap } from '@retain/engine';
import { SpecError, type ExperimentSpec, type PluginRegistry, type QuantizeContext, type QuantizeOutcome } from '@retain/sdk';
import { asPluginError } from './failures';

/** What running a quantizer needs of the worker context (context.ts builds it; a subset keeps this module below it). */
export interface QuantizerHost {
  registry: PluginRegistry;
  plainModelOf(spec: ExperimentSpec, scenario: Scenario): QuantizeContext['model'];
  headOf(scenario: Scenario, taskIndex: number): number;
}

/**
 * The spec's quantizer `quantizerId` on `params` after task `taskIndex`: the quantize stage of
 * finishTask and a QLoRA base (`MethodContext.quantizeWith`) both run it, so a quantizer sees the
 * same context from either: the model plugin's model, the task's head and calibration data, and
 * every task seen so far (`taskData`). `extra` adds what only finishTask has (learned QAT steps,
 * the method's Fisher).
 */
export async function runQuantizer(
  host: QuantizerHost,
  spec: ExperimentSpec,
  scenario: Scenario,
  quantizerId: string,
  params: TensorMap,
  taskIndex: number,
  extra: Pick<QuantizeContext, 'stepSizes' | 'methodFisher'> = {},
): Promise<QuantizeOutcome> {
  const ref = spec.quantizers.find((q) => q.id === quantizerId);
  if (!ref)
    throw new SpecError(
      'quantizers',
      `no quantizer has id '${quantizerId}'; the spec's are ${spec.quantizers.map((q) => q.id).join(', ') || 'none'}`,
    );
  const quantizer = host.registry.get('quantizer', ref.name);
  return asPluginError(
    `quantizer ${quantizerId}`,
    () => ({ task: taskIndex }),
    () =>
      quantizer.quantize({
        config: ref.config,
        seed: spec.seed,
        model: host.plainModelOf(spec, scenario),
        params,
        head: host.headOf(scenario, taskIndex),
        calibration: scenario.task(taskIndex).train,
        taskIndex,
        taskData: (index) => {
          if (!Number.isInteger(index) || index < 0 || index > taskIndex)
            throw new Error(`taskData: task ${index} is not one seen so far (0..${taskIndex})`);
          return { train: scenario.task(index).train, head: host.headOf(scenario, index) };
        },
        ...extra,
      }),
  );
}
