export { readIdx, IdxFormatError } from './idx';
export type { ImageDataset } from './fashion-mnist';
export { loadFashionMnist, DatasetNotFoundError, DEFAULT_FASHION_MNIST_DIR } from './fashion-mnist';
export type { SampleSet } from './sample-set';
export { PixelSampleSet, gatherLabels, normalisationTable, targetsOf } from './sample-set';
export type { TaskData, ScenarioInfo, Scenario } from './scenario';
export { batchOrder, scenarioInfo, ScenarioConfigError } from './scenario';
export type { PermutedConfig, PermutedConfigInput, SplitConfig, SplitConfigInput } from './config';
export { permutedConfigSchema, splitConfigSchema, MAX_TASKS } from './config';
export {
  permutedOutline,
  splitOutline,
  textOutline,
  FASHION_MNIST,
  type ScenarioOutline,
  type OutlineProblem,
  type OutlineResult,
  type TextOutlineConfig,
} from './outline';
export { permutedScenario, taskPermutation } from './permuted';
export { splitScenario, splitClasses } from './split';
export { loadText, ByteWindowSampleSet, textScenario, TextNotFoundError, DEFAULT_TEXT_DIR, type TextScenarioConfig } from './text';
export { TokenWindowSampleSet } from './token-windows';
export {
  byteTokenizer,
  bpeTokenizer,
  bpeVocabulary,
  fitVocabulary,
  BPE_ENCODINGS,
  FITTED_END_OF_DOCUMENT,
  FITTED_UNKNOWN,
  type BpeEncoding,
  type Tokenizer,
} from './tokenizer';
export {
  TEXT_DOMAINS,
  TEXT_DOMAIN_NAMES,
  TextDomainMissingError,
  isTextDomainName,
  loadDomainDocuments,
  missingPackages,
  type TextDocument,
  type TextDomain,
  type TextDomainName,
} from './text-corpus';
export {
  textDomainsScenario,
  textDomainsWindows,
  splitDocuments,
  tokenStream,
  PRETRAIN_TASK,
  type TextDomainsConfig,
} from './text-domains';
export { textDomainsOutline } from './text-domains-outline';
