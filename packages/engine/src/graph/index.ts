export { Graph, type Attr, type Op } from './graph';
export { Tensor, withGrad, type Dim, type GradRule } from './tensor';
export { gradients } from './autodiff';
export { broadcastDims } from './broadcast';
export { floatConstant } from './constants';
export { linearLayers, type LinearLayer } from './linear-layers';
export * from './ops';
