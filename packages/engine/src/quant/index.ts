export * from './weight';
export * from './grid';
export { captureLayerInputs } from './capture';
