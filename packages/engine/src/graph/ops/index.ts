export { add, sub, mul, div, neg, scale, square, exp, log, sqrt } from './arith';
export { relu, tanh, sigmoid } from './activation';
export { softmax, logSoftmax, softmaxCrossEntropy } from './softmax';
export { matmul } from './matmul';
export { reduceSum, reduceMean, sum, mean } from './reduce';
export { reshape, reshapeLike, unsqueeze, expandTo, transpose, concat, slice, gather } from './shape';
export { argmax, greater, equal, cast, shapeOf, countOf, fillLike, dequantizeLinear } from './nondiff';
export { fakeQuantize } from './quant';
