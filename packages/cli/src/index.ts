export { main } from './main';
export { EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_RUN_FAILED, EXIT_UNREACHABLE, EXIT_INTERRUPTED } from './output';
export { loadSpecFile, parseSpec } from './spec-file';
export { formatResult, writeResult } from './report';
export { formatProgress, formatDuration, phaseOf, snapshot, type ProgressSnapshot } from './progress';
export { planOf, planSweep, prepareSweep, sweepStartFromSpec, sweepWorkflowStart, type SweepWorkflowStart } from './sweep';
