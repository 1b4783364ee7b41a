export { paramSpec, type Model, type ParamSpec } from './model';
export { mlp, type MlpConfig } from './mlp';
export { cnn, type CnnConfig } from './cnn';
export { transformer, type TransformerConfig } from './transformer';
export { initParams, initParam } from './init';
