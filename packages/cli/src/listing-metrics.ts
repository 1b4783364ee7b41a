import { openArtifactStore, type ArtifactRef, type ArtifactStore } from '@retain/artifacts';
import type { ExperimentResult } from '@retain/sdk';
import type { Client } from '@temporalio/client';
import { paths } from './connection';
import type { ListedMetrics, RunListing } from './control';
import { log } from './output';

/**
 * Reads in flight at once for `ls`: each costs a round trip to the server (the run's close event)
 * and one to the store (its results), so a few at a time hide the latency without crowding either.
 */
export const LISTING_READS_AT_ONCE = 8;

/**
 * The listed runs with ACC and BWT per model added to each completed one. The metrics live in the
 * run's results artifact, so this costs, per completed run listed (and only those), one fetch of
 * its workflow's result (the close event: where the results are) and one read of results.json from
 * the store; runs still going, failed or cancelled cost nothing. A run whose results cannot be read
 * (a store other than the one it wrote to) is listed without metrics, and one line says how many.
 */
export async function withListedMetrics(client: Client, runs: RunListing[]): Promise<RunListing[]> {
  const store = openArtifactStore(paths().artifacts);
  const completed = runs.filter((r) => r.status === 'completed');
  const metrics = new Map<string, Record<string, ListedMetrics>>();
  let unreadable = 0;
  for (let i = 0; i < completed.length; i += LISTING_READS_AT_ONCE) {
    await Promise.all(
      completed.slice(i, i + LISTING_READS_AT_ONCE).map(async (r) => {
        try {
          metrics.set(r.runId, await metricsOf(client, store, r.runId));
        } catch {
          unreadable++;
        }
      }),
    );
  }
  if (unreadable)
    log(
      `${unreadable} completed run${unreadable === 1 ? "'s" : "s'"} results could not be read from ${store.location}; listed without metrics`,
    );
  return runs.map((r) => (metrics.has(r.runId) ? { ...r, metrics: metrics.get(r.runId) } : r));
}

async function metricsOf(client: Client, store: ArtifactStore, runId: string): Promise<Record<string, ListedMetrics>> {
  const { resultRef } = (await client.workflow.getHandle(runId).result()) as { resultRef: ArtifactRef };
  const result = await store.getJson<ExperimentResult>(resultRef);
  return Object.fromEntries(Object.entries(result.metrics).map(([model, m]) => [model, { acc: m.acc, bwt: m.bwt }]));
}
