import { Context } from '@temporalio/activity';

/** Sends heartbeat details now; `stop()` ends the background beat. */
export interface Beat<T> {
  (details: T): void;
  stop(): void;
}

/**
 * Heartbeats at once and then at least every `everyMs` with the latest details, for as long as the
 * activity runs, so a short heartbeat timeout detects a dead worker quickly while a long step, a
 * dataset load or a slow plugin call (off the event loop) never looks like one. Each beat repeats
 * the latest details: Temporal keeps only the last ones, and a retry reads them back.
 */
export function keepAlive<T>(ctx: Pick<Context, 'heartbeat'>, current: () => T, everyMs = 1000): Beat<T> {
  let last = 0;
  const send = (details: T) => {
    last = Date.now();
    ctx.heartbeat(details);
  };
  send(current());
  const timer = setInterval(() => {
    if (Date.now() - last >= everyMs) send(current());
  }, everyMs);
  const beat = send as Beat<T>;
  beat.stop = () => clearInterval(timer);
  return beat;
}

/** An activity's heartbeat details: read the latest, or replace them (which beats at once). */
export interface Heartbeat<D> {
  readonly details: D;
  update(details: D): void;
}

/**
 * Runs an activity body with a background heartbeat (keepAlive) carrying the latest details, which
 * the body replaces as it goes; the beat stops when the body ends, however it ends.
 */
export async function withHeartbeat<D, T>(
  initial: D,
  body: (heartbeat: Heartbeat<D>) => Promise<T>,
  ctx: Pick<Context, 'heartbeat'> = Context.current(),
): Promise<T> {
  let details = initial;
  const beat = keepAlive(ctx, () => details);
  try {
    return await body({
      get details() {
        return details;
      },
      update: (next) => beat((details = next)),
    });
  } finally {
    beat.stop();
  }
}
