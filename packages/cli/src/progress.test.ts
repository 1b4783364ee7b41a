import type { RunProgress } from '@retain/sdk';
import { progressLine, runStartMs, type ProgressSnapshot } from './progress';

const MINUTE = 60_000;

/** A run of 4 tasks that is working on task 2 (0-based), so half of it is done, started at `startedAt`. */
function halfway(startedAt?: string): ProgressSnapshot {
  const run: RunProgress = {
    runId: 'r',
    phase: 'quantizing',
    task: 2,
    tasks: 4,
    taskNames: ['a', 'b', 'c', 'd'],
    paused: false,
    ...(startedAt ? { startedAt } : {}),
  };
  return { run };
}

describe('progress ETA', () => {
  const start = Date.parse('2026-01-01T10:00:00.000Z');

  it('measures from the run start when a watcher attaches to a run under way (retain result)', () => {
    // The run started 10 minutes before the watcher attached and is half done: 10 minutes to go.
    const attached = start + 10 * MINUTE;
    const line = progressLine(halfway(new Date(start).toISOString()), attached, attached + 1000);
    expect(line).toContain('elapsed 10m01s');
    expect(line).toContain('ETA 10m01s');
  });

  it('falls back to the attach time before the run has a start (startRun not finished)', () => {
    expect(runStartMs(halfway(), 1234)).toBe(1234);
    expect(runStartMs({}, 1234)).toBe(1234);
    expect(runStartMs(halfway('not a date'), 1234)).toBe(1234);
    expect(progressLine(halfway(), start, start + 30_000)).toContain('ETA 30s');
  });
});
