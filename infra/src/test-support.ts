import * as path from 'node:path';
import { stateDir, toolsDirOf } from './paths';

/**
 * The tools dir that tests share with infra/setup.sh (which runs from the workspace root):
 * RETAIN_HOME's when set, else the workspace root's `.retain/tools`, so a test run reuses the
 * installed CLI instead of installing one per project folder.
 */
export function sharedToolsDir(): string {
  return process.env.RETAIN_HOME ? toolsDirOf(stateDir()) : path.resolve(__dirname, '../../.retain/tools');
}
