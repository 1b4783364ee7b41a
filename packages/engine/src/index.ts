export * from './rng';
export * from './tensor';
export * from './graph';
export { IR_VERSION, OPSET, decodeModel, type DType } from './onnx/proto';
