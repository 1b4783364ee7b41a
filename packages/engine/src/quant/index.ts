export * from './weight';
export * from './grid';
export { captureLayerInputs } from './capture';
export { calibrateActivation, fakeQuantizeActivation } from './activation';
