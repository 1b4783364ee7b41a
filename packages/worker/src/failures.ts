import { types } from 'node:util';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { FAILURE_TYPES, PluginError, type FailureDetails, type FailureTypeName } from '@retain/sdk';

/**
 * The one place where an error becomes a failure type (FAILURE_TYPES in @retain/sdk's errors.ts):
 * user errors (the spec, the data, the machine) and bugs fail the run at once, transient ones are
 * retried with backoff. Every activity runs inside `classifiedActivity`, so no plugin, data loader
 * or store has to know about Temporal's retry policy.
 */

/** An error as the run's failure reports it: its type, one message that names the cause, and the fix where known. */
export interface ClassifiedError {
  type: FailureTypeName;
  message: string;
  fix?: string;
  plugin?: string;
  task?: number;
  step?: number;
  /** The original error's name, when it differs from the type (e.g. RangeError for OutOfMemoryError). */
  errorName?: string;
}

/** Errors that only a code change fixes: whoever throws one has a bug, and retrying repeats it. */
const BUG_TYPES = ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError'];

/** A failed allocation: V8's messages for a buffer it cannot make, and onnxruntime's. */
const OUT_OF_MEMORY =
  /Array buffer allocation failed|Invalid typed array length|Invalid array length|Invalid string length|Failed to allocate memory|bad_alloc|out of memory/i;

/** Node's system error codes that a retry cannot change: the disk, the path, the permissions. */
const DISK_FULL_CODES = ['ENOSPC', 'EDQUOT'];
const FILE_CODES = ['ENOENT', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'EISDIR', 'ENOTDIR', 'ELOOP', 'EFBIG'];
/** ...and those a retry can: the network, a peer restarting, throttling. */
const NETWORK_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
];
/** Error names the AWS SDK gives throttling and timeouts (S3's 503 SlowDown and friends). */
const NETWORK_NAMES = ['SlowDown', 'ThrottlingException', 'Throttling', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError'];
/** zlib's codes for a cut or damaged stream: a data file that is not what it claims. */
const CORRUPT_DATA_CODES = ['Z_BUF_ERROR', 'Z_DATA_ERROR', 'Z_STREAM_ERROR'];

const isFailureType = (name: string): name is FailureTypeName => Object.hasOwn(FAILURE_TYPES, name);

/** Whether retrying the same activity can succeed: only for the transient types. */
export function isRetryable(type: FailureTypeName): boolean {
  return FAILURE_TYPES[type].retryable;
}

/** Classifies any thrown value (see FAILURE_TYPES for the table). */
export function classifyError(err: unknown): ClassifiedError {
  if (!isError(err)) return { type: 'Error', message: String(err) };
  if (err instanceof PluginError) return classifyPluginError(err);
  // Retain's own error types say what they are (a missing text file is a TextNotFoundError, not its ENOENT).
  if (err.name !== 'Error' && isFailureType(err.name)) return { type: err.name, message: err.message };
  const code = systemCode(err);
  if (code && DISK_FULL_CODES.includes(code)) {
    const path = pathOf(err);
    return {
      type: 'DiskFullError',
      message: `no space left on the device of ${path ?? 'a file this worker writes'} (${code})`,
      fix: `free space there${path ? '' : ' (df -h)'}, or move RETAIN_HOME or RETAIN_ARTIFACTS to a larger disk; then \`retain resume <run id>\``,
      errorName: err.name,
    };
  }
  if (code && FILE_CODES.includes(code)) return { type: 'FileSystemError', message: err.message, errorName: err.name };
  if ((code && NETWORK_CODES.includes(code)) || NETWORK_NAMES.includes(err.name)) {
    return { type: 'NetworkError', message: err.message, errorName: err.name };
  }
  if (code && CORRUPT_DATA_CODES.includes(code)) {
    return { type: 'IdxFormatError', message: `corrupt compressed data (${err.message})`, errorName: err.name };
  }
  if (OUT_OF_MEMORY.test(err.message)) return outOfMemory(err);
  // A config or input that fails its schema: the same input fails the same way on every attempt.
  if (err.name === 'ZodError') return { type: 'SpecError', message: err.message, errorName: err.name };
  if (BUG_TYPES.includes(err.name)) {
    return {
      type: 'InternalError',
      message: describeBug(err),
      fix: 'a bug in Retain: report it with this message and the log of `--verbose`',
      errorName: err.name,
    };
  }
  return { type: 'Error', message: err.message, errorName: err.name };
}

/**
 * A plugin's error keeps its plugin, task and step; what it wraps decides the type when that is
 * more precise (a missing dataset, a full disk, a failed allocation inside a plugin's hook).
 */
function classifyPluginError(err: PluginError): ClassifiedError {
  const where = { plugin: err.plugin, task: err.where.task, step: err.where.step };
  const inner = err.cause === undefined ? undefined : classifyError(err.cause);
  if (inner && inner.type !== 'Error' && inner.type !== 'InternalError' && inner.type !== 'PluginError') {
    return { ...inner, ...where, message: new PluginError(err.plugin, inner.message, err.where).message };
  }
  const bug = inner?.type === 'InternalError';
  return {
    type: 'PluginError',
    message: err.message,
    fix: bug ? `a bug in plugin ${err.plugin.split(' ').pop()}: fix it, then \`retain resume <run id>\`` : undefined,
    ...where,
    ...(inner?.errorName ? { errorName: inner.errorName } : {}),
  };
}

function outOfMemory(err: Error): ClassifiedError {
  return {
    type: 'OutOfMemoryError',
    message: `cannot allocate memory (${err.name}: ${err.message})`,
    fix: 'make the model (model.config) or the data per task smaller, or run on a machine with more memory',
    errorName: err.name,
  };
}

/** `TypeError: x is not a function (at file:line)`: the error and the frame that threw it, never the whole stack. */
export function describeBug(err: Error): string {
  const frame = err.stack
    ?.split('\n')
    .find((line) => line.trim().startsWith('at '))
    ?.trim();
  return `${err.name}: ${err.message}${frame ? ` (${frame})` : ''}`;
}

/** An Error, from this realm or another (Node's own errors under jest's sandbox are not `instanceof Error` there). */
function isError(err: unknown): err is Error {
  return err instanceof Error || types.isNativeError(err);
}

function systemCode(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function pathOf(err: Error): string | undefined {
  const { path, dest } = err as { path?: unknown; dest?: unknown };
  return typeof path === 'string' ? path : typeof dest === 'string' ? dest : undefined;
}

/**
 * Runs a plugin hook: an error it throws becomes a PluginError naming the plugin, task and step
 * (non-retryable: a plugin is a function of its config and data, so it fails the same way again),
 * unless it is transient (the network, the store), which the activity's retry policy retries.
 */
export async function asPluginError<T>(plugin: string, where: () => { task?: number; step?: number }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw pluginFailure(plugin, where, err);
  }
}

/** asPluginError for a synchronous hook (a model's build). */
export function asPluginErrorSync<T>(plugin: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw pluginFailure(plugin, () => ({}), err);
  }
}

function pluginFailure(plugin: string, where: () => { task?: number; step?: number }, err: unknown): unknown {
  if (err instanceof PluginError || err instanceof CancelledFailure || !isError(err)) return err;
  // Known transient errors stay retryable; anything else a plugin throws (the catch-all 'Error'
  // included) is deterministic, since a plugin is a function of its config and data.
  const type = classifyError(err).type;
  if (type !== 'Error' && isRetryable(type)) return err;
  const message = BUG_TYPES.includes(err.name) && !OUT_OF_MEMORY.test(err.message) ? describeBug(err) : err.message;
  return new PluginError(plugin, message, where(), { cause: err });
}

/**
 * Runs an activity body; what it throws reaches Temporal as an ApplicationFailure of its failure
 * type, non-retryable unless transient, carrying FailureDetails (activity, plugin, task, step,
 * fix) for the CLI. A cancellation passes through as it is: it is how pause and cancel work.
 */
export async function classifiedActivity<T>(activity: string, where: { task?: number }, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CancelledFailure || err instanceof ApplicationFailure) throw err;
    const c = classifyError(err);
    const details: FailureDetails = {
      activity,
      type: c.type,
      ...(c.plugin ? { plugin: c.plugin } : {}),
      ...((c.task ?? where.task) !== undefined ? { task: c.task ?? where.task } : {}),
      ...(c.step !== undefined ? { step: c.step } : {}),
      ...(c.fix ? { fix: c.fix } : {}),
      ...(c.errorName && c.errorName !== c.type ? { errorName: c.errorName } : {}),
    };
    throw ApplicationFailure.create({
      type: c.type,
      message: c.message,
      nonRetryable: !isRetryable(c.type),
      details: [details],
      cause: isError(err) ? err : undefined,
    });
  }
}
