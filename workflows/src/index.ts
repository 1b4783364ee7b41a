export { experimentWorkflow, pauseSignal, progressQuery, TASK_RECORDS_PATCH, unpauseSignal } from './experiment';
export {
  methodKey,
  quantizersKey,
  RUN_SEARCH_ATTRIBUTES,
  runSearchAttributes,
  specNameKey,
  statusKey,
  type RunStatus,
} from './search-attributes';
