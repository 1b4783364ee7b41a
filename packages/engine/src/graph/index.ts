export { Graph, type Attr } from './graph';
export { Tensor, withGrad, type Dim, type GradRule } from './tensor';
export { gradients } from './autodiff';
export { broadcastDims, unbroadcast } from './broadcast';
export * from './ops';
