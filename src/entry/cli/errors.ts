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

/** What diycloudctl prints on stderr and exits with for `e`. */
export function describeFailure(e: unknown): { message: string; exitCode: number } {
  if (e instanceof ManagerCallError || e instanceof UsageError) return { message: e.message, exitCode: e.exitCode };
  return { message: e instanceof Error ? e.message : String(e), exitCode: ERROR_CATALOGUE.Failed.exitCode };
}
