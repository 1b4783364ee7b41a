export { paramSpec, buffersOf, type Model, type ParamSpec, type BufferSpec, type ForwardMode } from './model';
export { mlp, type MlpConfig } from './mlp';
export { cnn, type CnnConfig } from './cnn';
export { transformer, type TransformerConfig } from './transformer';
export { causalLm, mlpHidden, type CausalLmConfig } from './causal-lm';
export { initParams, initParam } from './init';
export {
  initLoraParams,
  isLoraParam,
  loraA,
  loraB,
  loraParams,
  loraScale,
  loraWeight,
  mergeLora,
  withLora,
  type LoraOptions,
} from './lora';
export { frozenValues, withFrozenCodes, type FrozenWeight, type LevelCodes } from './frozen-codes';
