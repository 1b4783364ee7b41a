import type { ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Priority, Workflow } from '@temporalio/common';
import type { ExperimentSpec } from '@retain/sdk';
import { experimentWorkflow, runPriority, runSearchAttributes } from '@retain/workflows';
import type { SweepWorkflowStart } from './sweep';

/** What a schedule starts at each firing, as `retain run --detach` would start it by hand. */
export type ScheduledStart = ScheduleOptionsStartWorkflowAction<typeof experimentWorkflow> & { priority?: Priority };

/**
 * The one place that turns a validated spec into a schedule's action. Each firing starts the
 * spec's run with the same input, queue, search attributes and priority as `retain run`; its
 * workflow id is `<workflowId>-<firing time, RFC 3339>` (Temporal appends the time, so ids are
 * unique per firing). The spec is frozen into the schedule when it is created.
 * A sweep spec is scheduled through `scheduledSweepStart` instead.
 */
export function scheduledStart(spec: ExperimentSpec, workflowId: string): ScheduledStart {
  const priority = runPriority(spec);
  return {
    type: 'startWorkflow',
    workflowType: experimentWorkflow,
    workflowId,
    taskQueue: spec.execution.taskQueue,
    args: [{ spec }],
    typedSearchAttributes: runSearchAttributes(spec),
    // The SDK's create options (1.24) leave `priority` out of their type but send it (schedule-helpers' encoder does).
    ...(priority ? { priority } : {}),
  };
}

/**
 * A sweep's schedule action: its workflow start as `retain sweep` makes it (the plan, every cell
 * validated, stored once when the schedule is created). Each firing runs under `<id>-<time>` and
 * names its cells after that id (sweepWorkflow), so firings never share runs.
 */
export function scheduledSweepStart(start: SweepWorkflowStart): ScheduleOptionsStartWorkflowAction<Workflow> & { priority?: Priority } {
  return { type: 'startWorkflow', ...start };
}
