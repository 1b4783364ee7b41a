import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';

/**
 * Replays recorded histories of experimentWorkflow against the current workflow code: a change
 * that would make a running workflow nondeterministic (a reordered activity, a new timer, a
 * signal handled differently) fails here instead of in a week-long run. The fixtures come from
 * experiment.test.ts's pause test (RECORD_REPLAY_FIXTURE=1); re-record them only for an
 * intentional, versioned change (a `patched` branch, or a new workflow type). Older fixtures stay,
 * as long as runs of that code may still be in flight:
 *  - paused-run-first/last: task records, continue-as-new after every task (commit ecbc3c5);
 *    they replay through the `tasks-per-execution` patch's old branch;
 *  - legacy-v1-*: the code before task records (commit 394ef2b), replayed through legacy-v1.ts.
 */

let bundle: WorkflowBundle;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed by another test file in this process.
  }
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./index'), logger: new DefaultLogger('WARN') });
}, 120_000);

describe('replay of recorded experiment histories', () => {
  test.each([
    ['only', 'paused-run-one'],
    ['first (one task per execution)', 'paused-run-first'],
    ['last (one task per execution)', 'paused-run-last'],
    ['first (legacy v1 code)', 'legacy-v1-paused-run-first'],
    ['last (legacy v1 code)', 'legacy-v1-paused-run-last'],
  ])('the %s execution of a paused-and-unpaused run replays with the current code', async (_, name) => {
    const json: unknown = JSON.parse(readFileSync(join(__dirname, 'fixtures', `${name}-execution.json`), 'utf8'));
    const history = historyFromJSON(json);
    // Guard against a fixture that lost its content: it must hold real work.
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, 'orchestration-pause')).resolves.toBeUndefined();
  });
});
