// Pure TypeScript on purpose: no Node built-ins and no dependencies, so Temporal's workflow
// sandbox can import these metrics as well as activities and the CLI.
export type { AccuracyMatrix } from './matrix';
export { validateMatrix, validateInitial, evaluatedCell } from './matrix';
export type { CLMetrics } from './continual';
export { averageAccuracy, backwardTransfer, forwardTransfer, forgetting, summarize, quantizationGap } from './continual';
export type { LossMatrix, LossMetrics } from './loss';
export {
  averageLoss,
  averagePerplexity,
  backwardTransferLoss,
  forwardTransferLoss,
  forgettingLoss,
  summarizeLoss,
  validateLossMatrix,
} from './loss';
export type { QuantizationMetrics } from './quantization';
export { quantizationInducedForgetting, bucketCrossingRate, quantizationMetrics } from './quantization';
export {
  formatMatrix,
  formatMetricsTable,
  formatLossMetricsTable,
  formatQuantizationTable,
  meanCrossingRate,
  NOT_EVALUATED,
} from './format';
export type { SeedStat } from './over-seeds';
export { statOverSeeds } from './over-seeds';
