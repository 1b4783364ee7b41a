export {
  GraphSession,
  configureSessions,
  assertDeviceAvailable,
  resolveSessionOptions,
  type RunTraffic,
  type Value,
  type ValueDType,
  type ValueMeta,
  type SessionOptions,
} from './graph-session';
export {
  DEVICE_KINDS,
  DEVICE_NAMES,
  CUDA_PROVIDER_FILE,
  DRIVER_LIBRARY,
  cudaDeviceId,
  deviceInstallHint,
  deviceKind,
  executionProvider,
  onnxruntimeBinDir,
  parseDevice,
  unresolvedLibraries,
  type Device,
  type DeviceKind,
  type ExecutionProvider,
} from './devices';
export { TrainSession, stackValues } from './train-session';
export { InferenceSession } from './inference-session';
export { summarizeProfile, type OpTime, type ProfileEvent, type ProfileSummary } from './profile';
