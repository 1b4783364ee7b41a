import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';

/**
 * Replays recorded histories of experimentWorkflow against the current workflow code: a change
 * that would make a running workflow nondeterministic (a reordered activity, a new timer, a
 * signal handled differently) fails here instead of in a week-long run. The fixture comes from
 * experiment.test.ts's pause test (RECORD_REPLAY_FIXTURE=1). Before 1.0 a change to the workflow
 * may re-record it; from 1.0 on, a change that breaks it goes behind `patched()` and the old
 * fixture stays, as docs/architecture.md's versioning rule says.
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
  test.each([['only', 'paused-run-one']])(
    'the %s execution of a paused-and-unpaused run replays with the current code',
    async (_, name) => {
      const json: unknown = JSON.parse(readFileSync(join(__dirname, 'fixtures', `${name}-execution.json`), 'utf8'));
      const history = historyFromJSON(json);
      // Guard against a fixture that lost its content: it must hold real work.
      expect(history.events?.length).toBeGreaterThan(20);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, 'orchestration-pause')).resolves.toBeUndefined();
    },
  );
});
