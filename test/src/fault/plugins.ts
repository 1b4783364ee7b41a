import { builtinPlugins } from '@retain/worker';
import { buggyMethod } from './buggy-method';
import { holdingMethod } from './holding-method';
import { slowEvaluator, slowRtnQuantizer } from './slow-plugins';

/** What fault-test workers and specs know: the built-in plugins plus the test-only ones beside this file. */
export const faultTestPlugins = [...builtinPlugins, buggyMethod, holdingMethod, slowRtnQuantizer, slowEvaluator];

/**
 * The test-only plugins as a `--plugins` file (`{ plugins }`): `retain resume` validates the spec it
 * continues, so the CLI must know the methods the test runs use, as their workers do.
 */
export const plugins = [buggyMethod, holdingMethod, slowRtnQuantizer, slowEvaluator];
