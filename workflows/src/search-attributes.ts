import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { ExperimentSpec } from '@retain/sdk/workflow';

/**
 * Search attributes of a run, so `retain ls` filters runs through Temporal's own visibility
 * (e.g. `RetainMethod = "ewc" AND RetainStatus = "failed"`). The server must know them: infra
 * registers RUN_SEARCH_ATTRIBUTES when it starts or reuses a server.
 */
export const specNameKey = defineSearchAttributeKey('RetainSpec', SearchAttributeType.KEYWORD);
export const methodKey = defineSearchAttributeKey('RetainMethod', SearchAttributeType.KEYWORD);
export const quantizersKey = defineSearchAttributeKey('RetainQuantizers', SearchAttributeType.KEYWORD_LIST);
export const statusKey = defineSearchAttributeKey('RetainStatus', SearchAttributeType.KEYWORD);
/** The sweep a run is a cell of, and a sweep's own id: `RetainSweep = "<id>"` lists a sweep and its cells. */
export const sweepKey = defineSearchAttributeKey('RetainSweep', SearchAttributeType.KEYWORD);

/** What a run's status attribute says; Temporal's own ExecutionStatus cannot say `paused`. */
export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** Names and types for `temporal server start-dev --search-attribute` and the operator API. */
export const RUN_SEARCH_ATTRIBUTES = {
  RetainSpec: 'Keyword',
  RetainMethod: 'Keyword',
  RetainQuantizers: 'KeywordList',
  RetainStatus: 'Keyword',
  RetainSweep: 'Keyword',
} as const;

/** The attributes a run starts with (the client sets them; the workflow then keeps the status current). */
export function runSearchAttributes(spec: ExperimentSpec, status: RunStatus = 'running'): SearchAttributePair[] {
  return [
    { key: specNameKey, value: spec.name },
    { key: methodKey, value: spec.method.name },
    { key: quantizersKey, value: spec.quantizers.map((q) => q.id) },
    { key: statusKey, value: status },
  ];
}

/** The attributes a sweep starts with: its spec's name, its id (its cells carry it too) and its status. */
export function sweepSearchAttributes(
  spec: Pick<ExperimentSpec, 'name'>,
  sweepId: string,
  status: RunStatus = 'running',
): SearchAttributePair[] {
  return [
    { key: specNameKey, value: spec.name },
    { key: sweepKey, value: sweepId },
    { key: statusKey, value: status },
  ];
}
