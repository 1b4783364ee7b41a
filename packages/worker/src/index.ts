export { createActivities, type ActivityDeps } from './activities';
export { createSweepActivities } from './sweep';
export { builtinPlugins, defaultRegistry } from './plugins';
export {
  createRetainWorker,
  createRetainWorkers,
  workflowsPath,
  DEFAULT_TASK_QUEUE,
  type RetainWorkerOptions,
  type RetainWorkers,
} from './worker';
export { parseWorkerIdentity, retainBuild, workerIdentity, type ParsedIdentity } from './identity';
export { saveTensors, loadTensors, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint';
export { assertDeviceAvailable, DEVICE_NAMES, parseDevice, type Device } from '@retain/engine';
export { assembleResult, experimentResultOf, loadTaskRecords } from './run-records';
export {
  configuredPluginPackages,
  resolvePlugins,
  PluginPackageError,
  CONFIG_FILE,
  type PluginConfigSource,
  type PluginOptions,
  type PluginPackageRef,
  type ResolvedPlugin,
  type ResolvedPlugins,
} from './plugin-packages';
export { refsOfRun, ARTIFACT_KINDS, type ArtifactKind, type RunArtifacts } from './run-artifacts';
export { exportModel, type ExportModelInput } from './model-export';
export { createWorkerContext, type WorkerContext } from './context';
export { asPluginError, classifyError, classifiedActivity, type ClassifiedError } from './failures';
