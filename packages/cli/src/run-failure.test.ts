import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ServiceError,
  TerminatedFailure,
  WorkflowFailedError,
} from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import type { FailureDetails } from '@retain/sdk';
import { describeError, messageWithCauses } from './errors';
import { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_RUN_FAILED, EXIT_UNREACHABLE, RunFailedError, ServerUnreachableError } from './output';
import { resultOrRunFailure, runFailureMessage } from './run-failure';

/** The chain `handle.result()` throws for a run whose activity failed: workflow ← activity ← the classified error. */
function failedRun(message: string, details: FailureDetails): WorkflowFailedError {
  const app = ApplicationFailure.create({ type: details.type, message, nonRetryable: true, details: [details] });
  const activity = new ActivityFailure('Activity task failed', details.activity, '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', app);
  return new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
}

describe("a failed run's one line", () => {
  test("the plugin's message, where, and the fix with the run id filled in; none of Temporal's wrappers", () => {
    const err = failedRun('no space left on the device of /full/artifacts/sha256/ab (ENOSPC)', {
      activity: 'trainTask',
      type: 'DiskFullError',
      task: 2,
      fix: 'free space there; then `retain resume <run id>`',
    });
    const line = runFailureMessage('r1', err);
    expect(line).toBe(
      'run r1 failed in trainTask, task 2: no space left on the device of /full/artifacts/sha256/ab (ENOSPC); free space there; then `retain resume r1`',
    );
    expect(line).not.toMatch(/Workflow execution failed|Activity task failed/);
  });

  test('a plugin error names the plugin, task and step itself: the line does not repeat them', () => {
    const err = failedRun('trainer supervised (task 0, step 12): loss became NaN', {
      activity: 'trainTask',
      type: 'PluginError',
      plugin: 'trainer supervised',
      task: 0,
      step: 12,
    });
    expect(runFailureMessage('r2', err)).toBe('run r2 failed in trainTask: trainer supervised (task 0, step 12): loss became NaN');
  });

  test('cancelled and terminated runs say so', () => {
    const cancelled = new WorkflowFailedError(
      'Workflow execution cancelled',
      new CancelledFailure('cancelled'),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(runFailureMessage('r3', cancelled)).toBe('run r3 was cancelled; `retain resume r3` starts a run that continues it');
    const terminated = new WorkflowFailedError('x', new TerminatedFailure('by an operator'), RetryState.NON_RETRYABLE_FAILURE);
    expect(runFailureMessage('r4', terminated)).toBe('run r4 was terminated (by an operator)');
  });

  test('resultOrRunFailure turns a failed run into exit code 3 with that line', async () => {
    const err = await resultOrRunFailure('r5', Promise.reject(failedRun('boom', { activity: 'startRun', type: 'PluginError' }))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunFailedError);
    expect(describeError(err)).toEqual({ code: EXIT_RUN_FAILED, message: 'retain: run r5 failed in startRun: boom' });
  });
});

describe('exit codes', () => {
  test('2 bad input, 3 run failed, 4 unreachable, 1 anything unexpected', () => {
    expect(describeError(new ServerUnreachableError('cannot reach')).code).toBe(EXIT_UNREACHABLE);
    expect(
      describeError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/x/results.json' })),
    ).toEqual({
      code: EXIT_BAD_INPUT,
      message:
        'retain: no space left on the device of /x/results.json (ENOSPC); free space there, or move RETAIN_HOME or RETAIN_ARTIFACTS to a larger disk',
    });
    expect(describeError(new Error('something odd')).code).toBe(EXIT_INTERNAL);
  });

  test("the server's reason for refusing a start is shown, with what to do about a payload over its limit", () => {
    const grpc = Object.assign(new Error('3 INVALID_ARGUMENT: Blob data size exceeds limit.'), {
      code: 3,
      details: 'Blob data size exceeds limit.',
      metadata: {},
    });
    const err = new ServiceError('Failed to start Workflow', { cause: grpc });
    expect(messageWithCauses(err)).toMatch(/^Failed to start Workflow: Blob data size exceeds limit\. .*payload limit.*shorten the spec/);
    expect(describeError(err).code).toBe(EXIT_BAD_INPUT);
  });
});
