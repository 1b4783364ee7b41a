// Pure TypeScript on purpose: no Node built-ins and no dependencies, so Temporal's workflow
// sandbox can import these metrics as well as activities and the CLI.
export type { AccuracyMatrix } from './matrix';
export { validateMatrix, validateInitial } from './matrix';
export type { CLMetrics } from './continual';
export { averageAccuracy, backwardTransfer, forwardTransfer, forgetting, summarize, quantizationGap } from './continual';
export { formatMatrix, formatMetricsTable } from './format';
