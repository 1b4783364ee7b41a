import { Connection } from '@temporalio/client';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/**
 * Asks `address` whether it is a Temporal frontend serving `namespace` (describeNamespace).
 * Never throws: a refused port, a server speaking another protocol and a missing namespace all
 * come back as `{ ok: false, reason }`.
 */
export async function probeTemporal(address: string, namespace: string, timeoutMs = 3_000): Promise<ProbeResult> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    const conn = connection;
    await conn.withDeadline(Date.now() + timeoutMs, () => conn.workflowService.describeNamespace({ namespace }));
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: messageOf(err) };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
