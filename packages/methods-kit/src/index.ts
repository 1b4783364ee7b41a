export * from './namespace';
export { quadraticPenalty, type QuadraticAnchor } from './quadratic-penalty';
export { guardCurvature, stabilityBound, CLIP_SHARE, type CurvatureGuard } from './curvature-guard';
export { fisherDiagonal, hasBatchedFisher, type FisherOptions } from './fisher';
export { taskFisher } from './task-fisher';
export * from './replay-buffer';
export * from './per-head';
export { taskUnion, type TaskUnion } from './task-union';
