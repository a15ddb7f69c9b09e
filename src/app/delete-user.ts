// Use case: delete a managed user: sessions, account, home, limits and rows (the audit log stays).

import { DiycloudError } from '../core/errors';
import { validateUsername } from '../core/username';
import type { Caller } from '../core/ports';
import { ACTIONS, authorizedChange } from './authorize';
import type { AppDeps } from './deps';
import { cancelRatchet } from './enforce-allocation';
import { managedUser } from './managed-user';
import { recoverIntent } from './recover-intents';

export interface DeleteOptions {
  force?: unknown;
  remove_home?: unknown;
}

/**
 * Refuses a user with running sessions (Busy) unless `force`, which ends them through logind
 * first. Then: intent, quotas removed, userdel, limits lifted, rows removed with the intent. recover-intents
 * finishes a deletion that a crash interrupted.
 */
export async function deleteUser(deps: AppDeps, caller: Caller, rawName: unknown, o: DeleteOptions): Promise<void> {
  const name = validateUsername(rawName);
  for (const k of ['force', 'remove_home'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new DiycloudError('InvalidArgument', `options.${k}: expected a boolean`, { field: k });
  }
  await authorizedChange(deps, caller, ACTIONS.manageUsers, 'DeleteUser', name, async () => {
    const r = managedUser(deps, name);
    let sessions = await deps.sessions.sessionCount(r.uid);
    if (sessions > 0 && o.force !== true) throw new DiycloudError('Busy', `"${name}" has ${sessions} running session(s); end them first or delete with force`);
    if (sessions > 0) {
      await deps.sessions.terminateUser(r.uid);
      // logind ends the sessions asynchronously: up to 5 s, asked again every 100 ms.
      for (let i = 0; i < 50 && (sessions = await deps.sessions.sessionCount(r.uid)) > 0; i++) await new Promise<void>((res) => deps.scheduler.after(100, res));
    }
    // Held in the UID's queue, like every enforcement: one already running (a login's, a Reconcile
    // batch's, a memory ratchet step) finishes first, so none can put a quota or limit back after
    // they are removed; one queued behind finds the rows gone. A pending ratchet step is dropped.
    await deps.queue.run(r.uid, async () => {
      cancelRatchet(deps, r.uid);
      const intent = deps.admin.beginDeleteIntent(name, r.uid, { removeHome: o.remove_home === true }, deps.clock.now().toISOString());
      await recoverIntent(deps, { id: intent, op: 'delete', username: name, uid: r.uid, detail: { removeHome: o.remove_home === true } });
    });
    deps.events.emit('UserRemoved', name, r.uid);
  });
}
