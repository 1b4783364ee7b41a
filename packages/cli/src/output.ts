/** Exit codes: 0 done, 1 the run failed, 2 bad input (nothing was started), 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
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
