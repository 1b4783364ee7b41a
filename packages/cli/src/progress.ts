import { defaultPayloadConverter, type WorkflowHandle } from '@temporalio/client';
import type { FinishTaskHeartbeat, RunPhase, RunProgress, TrainHeartbeat } from '@retain/sdk';
import { pollEvery } from './poll';

/** What one look at a running experiment shows: the workflow's own view plus its running activity's last heartbeat. */
export interface ProgressSnapshot {
  run?: RunProgress;
  training?: TrainHeartbeat;
  /** finishTask's heartbeat: which stage after training runs. */
  finishing?: FinishTaskHeartbeat;
}

export async function snapshot(handle: WorkflowHandle): Promise<ProgressSnapshot> {
  const [run, heartbeats] = await Promise.all([
    handle.query<RunProgress>('progress').catch(() => undefined),
    lastHeartbeats(handle).catch(() => ({})),
  ]);
  return { run, ...heartbeats };
}

async function lastHeartbeats(handle: WorkflowHandle): Promise<Pick<ProgressSnapshot, 'training' | 'finishing'>> {
  const description = await handle.describe();
  const details = (type: string) => {
    const activity = description.raw.pendingActivities?.find((a) => a.activityType?.name === type);
    const payload = activity?.heartbeatDetails?.payloads?.[0];
    return payload ? defaultPayloadConverter.fromPayload<never>(payload) : undefined;
  };
  return { training: details('trainTask'), finishing: details('finishTask') };
}

/** The run's phase: the workflow's, made precise by finishTask's heartbeat while a task is after training. */
export function phaseOf(s: ProgressSnapshot): RunPhase | undefined {
  const { run, finishing } = s;
  return run && finishing?.taskIndex === run.task ? finishing.phase : run?.phase;
}

/** One line: task i/T, phase, epoch, step, loss, throughput, ETA. */
export function formatProgress(s: ProgressSnapshot, elapsedSeconds: number): string {
  const run = s.run;
  if (!run || run.tasks === 0) return `starting… ${formatDuration(elapsedSeconds)}`;
  const phase = phaseOf(s) ?? run.phase;
  const parts = [`task ${Math.min(run.task + 1, run.tasks)}/${run.tasks}`, phase];
  let done = run.task / run.tasks;
  const t = s.training;
  // The first heartbeat of an attempt comes before its first step: no step counts yet.
  if (phase === 'training' && t && t.taskIndex === run.task && t.step !== undefined && t.totalSteps && t.loss !== undefined) {
    parts.push(
      `epoch ${(t.epoch ?? 0) + 1}`,
      `step ${t.step}/${t.totalSteps}`,
      `loss ${t.loss.toFixed(4)}`,
      `${Math.round(t.samplesPerSec ?? 0)} samples/s`,
    );
    done += t.step / t.totalSteps / run.tasks;
  }
  const eta = done > 0.01 ? (elapsedSeconds / done) * (1 - done) : undefined;
  parts.push(`elapsed ${formatDuration(elapsedSeconds)}`, `ETA ${eta === undefined ? '…' : formatDuration(eta)}`);
  return parts.join(' · ');
}

/**
 * When the run started, in ms since the epoch: the workflow's `startedAt` (kept across
 * continue-as-new), else `fallbackMs` (before startRun has finished, the query has none). A watcher
 * that attaches to a run under way (`retain result`) must measure from here, not from when it
 * attached, or its ETA would count only the time it watched against all the work done.
 */
export function runStartMs(s: ProgressSnapshot, fallbackMs: number): number {
  const started = s.run?.startedAt ? Date.parse(s.run.startedAt) : NaN;
  return Number.isFinite(started) ? started : fallbackMs;
}

/** The progress line at `nowMs` for a watcher that attached at `attachedMs`. */
export function progressLine(s: ProgressSnapshot, attachedMs: number, nowMs: number): string {
  return formatProgress(s, (nowMs - runStartMs(s, attachedMs)) / 1000);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/**
 * Shows progress until stopped: one line rewritten in place on a terminal, a new line every
 * `quietSeconds` (or on a phase change) when the output is a log file.
 */
export function watchProgress(
  handle: WorkflowHandle,
  out: NodeJS.WriteStream,
  opts: { intervalMs?: number; quietSeconds?: number } = {},
): () => Promise<void> {
  const attached = Date.now();
  const tty = out.isTTY === true;
  let lastLine = '';
  let lastPrinted = 0;
  let lastPhase = '';
  const stop = pollEvery(opts.intervalMs ?? 1000, async () => {
    const s = await snapshot(handle);
    const line = progressLine(s, attached, Date.now());
    const phase = `${s.run?.task}/${phaseOf(s)}`;
    if (tty) {
      out.write(`\r\x1b[2K${line}`);
    } else if (phase !== lastPhase || Date.now() - lastPrinted >= (opts.quietSeconds ?? 10) * 1000) {
      out.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    lastPhase = phase;
    lastLine = line;
  });
  return async () => {
    await stop();
    if (tty && lastLine) out.write('\n');
  };
}
