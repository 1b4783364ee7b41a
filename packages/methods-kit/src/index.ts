export * from './namespace';
export { quadraticPenalty, type QuadraticAnchor } from './quadratic-penalty';
export { fisherDiagonal, hasBatchedFisher, type FisherOptions } from './fisher';
export { taskFisher } from './task-fisher';
export * from './replay-buffer';
export * from './per-head';
