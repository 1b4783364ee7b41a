import { builtinPlugins } from '@retain/worker';
import { buggyMethod } from './buggy-method';
import { holdingMethod } from './holding-method';
import { slowEvaluator, slowRtnQuantizer } from './slow-plugins';

/** What fault-test workers and specs know: the built-in plugins plus the test-only ones beside this file. */
export const faultTestPlugins = [...builtinPlugins, buggyMethod, holdingMethod, slowRtnQuantizer, slowEvaluator];
