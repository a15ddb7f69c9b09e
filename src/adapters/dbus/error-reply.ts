// Maps any thrown value to a safe D-Bus error: catalogue errors keep their message, others say only "Failed".

import { DiycloudError, dbusErrorName } from '../../core/errors';
import type { Logger } from '../../core/ports';

export interface ErrorReply {
  readonly name: string;
  readonly message: string;
}

/**
 * A DiycloudError becomes org.diycloud.Manager1.Error.<Code> with its (caller-safe) message.
 * Anything else is a bug or a backend surprise: the caller gets Error.Failed with a pointer to
 * the journal, and the detail (with stack and cause chain) goes to the journal. A stack trace
 * never reaches a caller.
 */
export function toErrorReply(e: unknown, log: Logger, context: string): ErrorReply {
  if (e instanceof DiycloudError) {
    if (e.cause !== undefined) log.warn(`${context}: ${e.message}: ${describeCause(e.cause, false)}`);
    return { name: dbusErrorName(e.code), message: e.message };
  }
  log.error(`${context}: unexpected error: ${describeCause(e, true)}`);
  return { name: dbusErrorName('Failed'), message: 'internal error; see the journal of diycloudd (journalctl -u diycloudd)' };
}

/** The cause chain as one line; stacks only for unexpected errors (they are bugs). */
function describeCause(e: unknown, stacks: boolean): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 5; depth++) {
    parts.push(cur instanceof Error ? (stacks ? (cur.stack ?? cur.message) : cur.message) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(' <- caused by: ');
}
