export { main, EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT } from './main';
export { loadSpecFile, parseSpec } from './spec-file';
export { formatResult, writeResult } from './report';
export { formatProgress, formatDuration, phaseOf, snapshot, type ProgressSnapshot } from './progress';
