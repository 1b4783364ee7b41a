export * from './weight';
export * from './grid';
export { captureLayerInputs } from './capture';
export { calibrateActivation, fakeQuantizeActivation, type ActivationQuant } from './activation';
