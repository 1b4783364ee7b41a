/**
 * Exit codes of every command (README "Exit codes"): 0 done; 1 an unexpected internal error (a
 * bug: the message says so); 2 bad input (a spec, a flag, a run id, a request that cannot be done
 * as asked; nothing was started); 3 the run failed (or was cancelled or terminated): its cause is
 * the last line; 4 the Temporal server cannot be reached; 130 interrupted (Ctrl-C; the run goes on).
 */
export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_RUN_FAILED = 3;
export const EXIT_UNREACHABLE = 4;
/** Ctrl-C: the run lives on in Temporal; 130 is the shell's code for SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** Messages go to stderr; stdout carries only what a script would read (results, run ids, listings). */
export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** What a command's action reports back to `main` as the process's exit code. */
export interface ExitCode {
  code: number;
}

/** A request that cannot be done as asked (a run that has ended, a filter no run can match): exit code 2, its message as is. */
export class BadInputError extends Error {}

/** A run failed, was cancelled or was terminated: exit code 3, its message (the cause, and the fix where known) as is. */
export class RunFailedError extends Error {}

/** The Temporal server cannot be reached (refused, unresolvable, timed out): exit code 4. */
export class ServerUnreachableError extends Error {}
