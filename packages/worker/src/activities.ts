import type { RetainActivities, SweepActivities } from '@retain/sdk';
import { createWorkerContext, type ActivityDeps } from './context';
import { classifiedActivity } from './failures';
import { finishTask } from './finish-task';
import { finishRun, startRun } from './run-lifecycle';
import { createSweepActivities } from './sweep';
import { trainTask } from './train-task';

export type { ActivityDeps } from './context';

/**
 * The activities a worker registers: thin adapters from Temporal to plugins, one file each. Each
 * resolves its plugins by name, loads artifacts by ref, calls the plugins, stores what they
 * produced and returns refs and small numbers.
 */
export function createActivities(deps: ActivityDeps): RetainActivities & SweepActivities {
  const ctx = createWorkerContext(deps);
  return {
    // A sweep's own two: its next cells' inputs, and the aggregation of its results (sweep.ts).
    ...createSweepActivities(deps.artifacts),
    // Every failure leaves as a classified ApplicationFailure (failures.ts): at once, or retried.
    startRun: (input) => classifiedActivity('startRun', {}, () => startRun(ctx, input)),
    trainTask: (input) => classifiedActivity('trainTask', { task: input.taskIndex }, () => trainTask(ctx, input)),
    finishTask: (input) => classifiedActivity('finishTask', { task: input.taskIndex }, () => finishTask(ctx, input)),
    finishRun: (input) => classifiedActivity('finishRun', {}, () => finishRun(ctx, input)),
  };
}
