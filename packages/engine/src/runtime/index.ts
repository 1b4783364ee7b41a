export { GraphSession, type Value, type ValueDType, type ValueMeta, type SessionOptions } from './graph-session';
export { TrainSession } from './train-session';
export { InferenceSession } from './inference-session';
