export { paramSpec, type Model, type ParamSpec } from './model';
export { mlp, type MlpConfig } from './mlp';
export { initParams, initParam } from './init';
