/**
 * The conformance kit: checks any plugin's tests call, one per kind (`await checkMethod(myMethod)`).
 * Each runs the plugin on small synthetic data through the real step graph and onnxruntime and
 * throws a ConformanceError listing every failed check; it returns what passed and what did not
 * apply. Import from `@retain/sdk/testing`.
 */
export { checkMethod, type MethodCheckOptions } from './method';
export { checkQuantizer, type QuantizerCheckOptions } from './quantizer';
export { checkBenchmark, checkModel, checkEvaluator, checkTrainer } from './kinds';
export { ConformanceError, firstDifference, type ConformanceReport } from './report';
export { syntheticScenario, syntheticSet, syntheticSequences, fixtureModel, type FixtureOptions } from './fixture';
