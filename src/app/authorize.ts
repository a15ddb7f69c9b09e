// The one authorize-then-run wrapper: polkit (or root) first, then the use case, then the audit line.

import { DiycloudError } from '../core/errors';
import type { Caller } from '../core/ports';
import { audited } from './audit';
import type { AppDeps } from './deps';

/** polkit action ids (polkit/org.diycloud.policy). */
export const ACTIONS = {
  manageUsers: 'org.diycloud.manage-users',
  manageLimits: 'org.diycloud.manage-limits',
  setEnabled: 'org.diycloud.set-enabled',
  readUsers: 'org.diycloud.read-users',
} as const;

/**
 * Root passes without asking. Everyone else is asked of polkit with the target in the details;
 * any error, timeout or absence of polkit is a denial. A "challenge" (polkit would ask for a
 * password) is InteractiveAuthorizationRequired unless the caller allowed interaction.
 */
export async function authorize(deps: AppDeps, caller: Caller, action: string, target: string): Promise<void> {
  if (caller.uid === 0) return;
  let result;
  try {
    result = await deps.authorizer.check(caller, action, { user: target });
  } catch (e) {
    throw new DiycloudError('PermissionDenied', `not authorized for ${action}: the authorization check failed`, { cause: e });
  }
  if (result === 'allowed') return;
  if (result === 'challenge' && !caller.interactive) {
    throw new DiycloudError('InteractiveAuthorizationRequired', `${action} needs authentication; run the command in a terminal, or ask an administrator`);
  }
  throw new DiycloudError('PermissionDenied', `not authorized for ${action}`);
}

/**
 * Authorize, then run `fn` under the audit trail, serialized with every other change to the same
 * target (one queue per name: two changes to one user never interleave; different users run in
 * parallel). A refused attempt gets a journal line (which journald rate-limits), not an audit row:
 * any local user can make refused calls, and must not be able to grow the database. The target is
 * resolved again inside `fn`, after the (possibly long, interactive) check and the queue: it may
 * have been deleted or replaced meanwhile.
 */
export async function authorizedChange<T>(deps: AppDeps, caller: Caller, action: string, what: string, target: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
  try {
    await authorize(deps, caller, action, target);
  } catch (e) {
    deps.log.warn(`refused: ${what} ${target} by uid ${caller.uid} (pid ${caller.pid ?? '?'}): ${(e as Error).message}`, { caller_uid: caller.uid, action: what, target });
    throw e;
  }
  return deps.queue.run(`name:${target}`, () => audited(deps, caller, what, target, fn, detail));
}
