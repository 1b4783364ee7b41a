export { add, sub, mul, div, neg, scale, square, exp, log, sqrt, pow } from './arith';
export { relu, tanh, sigmoid, erf, gelu, silu } from './activation';
export { softmax, logSoftmax, softmaxCrossEntropy } from './softmax';
export { matmul } from './matmul';
export { expandTo, reduceSum, unbroadcast } from './expand-sum';
export { reduceMean, sum, mean } from './reduce';
export { reshape, reshapeLike, unsqueeze, transpose, concat, slice, gather, pad, split } from './shape';
export { argmax, greater, equal, cast, shapeOf, countOf, fillLike } from './nondiff';
export { fakeQuantize, fakeQuantizeStep } from './quant';
export {
  conv2d,
  convTranspose2d,
  maxPool2d,
  avgPool2d,
  globalAvgPool,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type Pool2dOptions,
} from './conv';
export { batchNormTrain, batchNormEval, runningStats, layerNorm, rmsNorm, type BatchNormTrain } from './norm';
export { rotary } from './rotary';
export { where, clip, causalMask } from './select';
export { embedding } from './embedding';
export { dropout, dropoutMask } from './dropout';
