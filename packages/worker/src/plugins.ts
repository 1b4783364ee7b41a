import { PluginRegistry, type Plugin } from '@retain/sdk';
import { permutedFashionMnist, splitFashionMnist } from '@retain/benchmark-fashion-mnist';
import { textBytes } from '@retain/benchmark-text';
import { textDomains } from '@retain/benchmark-text-domains';
import { mlpModel } from '@retain/model-mlp';
import { cnnModel } from '@retain/model-cnn';
import { transformerModel } from '@retain/model-transformer';
import { causalLmModel } from '@retain/model-causal-lm';
import { supervisedTrainer } from '@retain/trainer-supervised';
import { naiveMethod } from '@retain/method-naive';
import { rtnQuantizer } from '@retain/quantizer-rtn';
import { accuracyEvaluator } from '@retain/evaluator-accuracy';
import { perplexityEvaluator } from '@retain/evaluator-perplexity';
import { hqqQuantizer } from '@retain/quantizer-hqq';
import { gptqQuantizer } from '@retain/quantizer-gptq';
import { w8a8Quantizer } from '@retain/quantizer-w8a8';
import { mixedPrecisionQuantizer } from '@retain/quantizer-mixed-precision';
import { ewcMethod, onlineEwcMethod } from '@retain/method-ewc';
import { replayMethod } from '@retain/method-replay';
import { agemMethod } from '@retain/method-agem';
import { siMethod } from '@retain/method-si';
import { lwfMethod } from '@retain/method-lwf';
import { pnnMethod, pnnModel } from '@retain/method-pnn';
import { jointMethod } from '@retain/method-joint';
import { adaptiveLrMethod } from '@retain/method-adaptive-lr';
import { loraMethod, qloraMethod } from '@retain/method-lora';

/** Every plugin that ships with Retain. A new plugin adds one line here. */
export const builtinPlugins: Plugin[] = [
  permutedFashionMnist,
  splitFashionMnist,
  textBytes,
  textDomains,
  mlpModel,
  cnnModel,
  transformerModel,
  causalLmModel,
  supervisedTrainer,
  naiveMethod,
  rtnQuantizer,
  accuracyEvaluator,
  perplexityEvaluator,
  hqqQuantizer,
  gptqQuantizer,
  w8a8Quantizer,
  mixedPrecisionQuantizer,
  ewcMethod,
  onlineEwcMethod,
  replayMethod,
  agemMethod,
  siMethod,
  lwfMethod,
  pnnMethod,
  pnnModel,
  jointMethod,
  adaptiveLrMethod,
  loraMethod,
  qloraMethod,
];

export function defaultRegistry(): PluginRegistry {
  return new PluginRegistry(builtinPlugins);
}
