// diycloudctl's failures: usage errors (exit 2) and the mapping of any error to a message and exit code.

import { ManagerCallError } from '../../adapters/dbus/manager-client';
import { ERROR_CATALOGUE } from '../../core/errors';

/** Exit status for a bad command line (as InvalidArgument, and as commander's own errors). */
export const EXIT_USAGE = 2;

/** The command line itself is wrong: nothing was sent. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The user pressed Ctrl-C at a prompt: exit 130, as a shell reports SIGINT. */
export class Interrupted extends Error {
  readonly exitCode = 130;

  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** What diycloudctl prints on stderr and exits with for `e`. */
/** diycloudctl doctor found a failed check (exit 1: problems found, the fixes printed above). */
export class ProblemsFound extends Error {
  readonly exitCode = 1;

  constructor(failed: number) {
    super(`doctor: ${failed} check${failed === 1 ? '' : 's'} failed; the fixes are listed above`);
    this.name = 'ProblemsFound';
  }
}

export function describeFailure(e: unknown): { message: string; exitCode: number } {
  if (e instanceof ManagerCallError || e instanceof UsageError || e instanceof Interrupted || e instanceof ProblemsFound) return { message: e.message, exitCode: e.exitCode };
  return { message: e instanceof Error ? e.message : String(e), exitCode: ERROR_CATALOGUE.Failed.exitCode };
}
