export { experimentWorkflow, pauseSignal, progressQuery, unpauseSignal } from './experiment';
export { sweepWorkflow, sweepProgressQuery } from './sweep';
export {
  methodKey,
  quantizersKey,
  RUN_SEARCH_ATTRIBUTES,
  runSearchAttributes,
  specNameKey,
  statusKey,
  sweepKey,
  sweepSearchAttributes,
  type RunStatus,
} from './search-attributes';
export { runPriority, runTaskQueues, specQueues, type RunQueues } from './policies';
