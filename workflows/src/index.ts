export { experimentWorkflow, pauseSignal, progressQuery, unpauseSignal } from './experiment';
export {
  methodKey,
  quantizersKey,
  RUN_SEARCH_ATTRIBUTES,
  runSearchAttributes,
  specNameKey,
  statusKey,
  type RunStatus,
} from './search-attributes';
export { runPriority, runTaskQueues, specQueues, type RunQueues } from './policies';
