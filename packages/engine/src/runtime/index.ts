export {
  GraphSession,
  configureSessions,
  assertDeviceAvailable,
  resolveSessionOptions,
  type Value,
  type ValueDType,
  type ValueMeta,
  type SessionOptions,
} from './graph-session';
export { DEVICES, parseDevice, deviceInstallHint, type Device } from './devices';
export { TrainSession, stackValues } from './train-session';
export { InferenceSession } from './inference-session';
export { summarizeProfile, type OpTime, type ProfileEvent, type ProfileSummary } from './profile';
