import { ConnectionSettingsError, PortInUseError } from '@retain/infra';
import { FAILURE_TYPES, SpecErrors } from '@retain/sdk';
import { classifyError, PluginPackageError } from '@retain/worker';
import { isGrpcServiceError, ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { noRunMessage } from './lifecycle';
import {
  BadInputError,
  EXIT_BAD_INPUT,
  EXIT_INTERNAL,
  EXIT_RUN_FAILED,
  EXIT_UNREACHABLE,
  RunFailedError,
  ServerUnreachableError,
} from './output';

/** gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: the server is down, unreachable or not answering. */
const UNREACHABLE_CODES = [14, 4];
const INVALID_ARGUMENT = 3;

/**
 * What `retain` prints for an error that ended a command (its last line), and the exit code
 * (output.ts). No stack traces: a message that names the cause and, where known, the fix.
 */
export function describeError(err: unknown): { code: number; message: string } {
  if (err instanceof SpecErrors) return { code: EXIT_BAD_INPUT, message: err.message };
  if (err instanceof RunFailedError) return { code: EXIT_RUN_FAILED, message: `retain: ${err.message}` };
  if (err instanceof ServerUnreachableError) return { code: EXIT_UNREACHABLE, message: `retain: ${err.message}` };
  if (
    err instanceof PluginPackageError ||
    err instanceof ConnectionSettingsError ||
    err instanceof BadInputError ||
    err instanceof PortInUseError
  ) {
    return { code: EXIT_BAD_INPUT, message: `retain: ${err.message}` };
  }
  if (err instanceof WorkflowNotFoundError) return { code: EXIT_BAD_INPUT, message: `retain: ${noRunMessage(err.workflowId)}` };
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return { code: EXIT_BAD_INPUT, message: `retain: run ${err.workflowId} already exists on this server; pick another --id` };
  }
  const grpc = grpcCause(err);
  if (grpc && UNREACHABLE_CODES.includes(grpc.code)) {
    return { code: EXIT_UNREACHABLE, message: `retain: the Temporal server stopped answering (${messageWithCauses(err)})` };
  }
  // The server refused the request as malformed (a spec over its payload limit): the input is at fault.
  if (grpc && grpc.code === INVALID_ARGUMENT) return { code: EXIT_BAD_INPUT, message: `retain: ${messageWithCauses(err)}` };
  // An error of the machine or the data met by the CLI itself (a full disk writing results.json).
  const classified = classifyError(err);
  if (classified.type !== 'Error' && FAILURE_TYPES[classified.type].kind !== 'internal') {
    return {
      code: EXIT_BAD_INPUT,
      message: `retain: ${classified.message}${classified.fix ? `; ${classified.fix.replace(/; then .*$/, '')}` : ''}`,
    };
  }
  return { code: EXIT_INTERNAL, message: `retain: ${messageWithCauses(err)}` };
}

function grpcCause(err: unknown): { code: number } | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e)) return e;
  }
  return undefined;
}

/**
 * An error's message followed by its causes', each said once. The Temporal client wraps the
 * server's reason ("Failed to start Workflow" around the payload limit it hit) in a ServiceError
 * whose cause is the gRPC error: its `details` is the server's own sentence.
 */
export function messageWithCauses(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) {
    const message = isGrpcServiceError(e) && e.details ? explainServerRefusal(e.details) : e.message;
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    if (e instanceof ServiceError && e.cause === undefined) break;
  }
  return parts.join(': ') || String(err);
}

/** The server's sentence, with what to do where Retain knows (the payload limit a large spec hits). */
function explainServerRefusal(details: string): string {
  if (/size exceeds limit/i.test(details)) {
    return `${details} The run's input (its spec) is over the server's payload limit (2 MB by default): shorten the spec, e.g. its description`;
  }
  return details;
}
