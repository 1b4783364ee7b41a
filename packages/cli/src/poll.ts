/**
 * Calls `poll` now and every `everyMs`, never two at once, until the returned stop, which waits
 * for a poll in flight. A command closes its connection (and may stop the embedded server) right
 * after stopping its pollers; a call still running then would be retried by the client on the
 * closed channel, which throws from a timer and ends the process. A failed poll is skipped: the
 * command's own wait reports what matters.
 */
export function pollEvery(everyMs: number, poll: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    inFlight ??= poll()
      .catch(() => undefined)
      .finally(() => (inFlight = undefined));
  };
  const timer = setInterval(tick, everyMs);
  tick();
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
