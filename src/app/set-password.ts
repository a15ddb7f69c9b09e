// Use case: set a user's password: an admin without the old one, the user by proving the old one through PAM.

import { DiycloudError } from '../core/errors';
import { validateUsername } from '../core/username';
import { validateOldPassword, validatePassword } from '../core/password';
import type { Caller } from '../core/ports';
import { ACTIONS, authorizedChange } from './authorize';
import type { AppDeps } from './deps';
import { managedUser } from './managed-user';

/**
 * - root, or a caller polkit allows manage-users for: old_password may be empty;
 * - the user themselves: old_password must pass PAM (auth and account stacks of service "diycloud").
 * The new password goes to chpasswd on stdin. Neither password is ever logged or audited.
 */
export async function setPassword(deps: AppDeps, caller: Caller, rawName: unknown, rawNew: unknown, rawOld: unknown): Promise<void> {
  const name = validateUsername(rawName);
  const password = validatePassword(rawNew, 'new_password');
  const oldPassword = validateOldPassword(rawOld);
  const own = caller.uid !== 0 && deps.store.userByName(name)?.uid === caller.uid;
  if (own) {
    const r = managedUser(deps, name);
    if (!r.enabled) throw new DiycloudError('PermissionDenied', 'this account is disabled');
    if (oldPassword === '' || !(await deps.passwords.verify(name, oldPassword))) {
      deps.log.warn(`refused: SetPassword ${name} by uid ${caller.uid}: the current password was not proven`, { caller_uid: caller.uid });
      throw new DiycloudError('PermissionDenied', 'the current password is wrong');
    }
    await deps.accountAdmin.setPassword(name, password);
    deps.store.audit({ callerUid: caller.uid, callerPid: caller.pid, action: 'SetPassword', target: name, result: 'ok', detail: 'own password' }, deps.clock.now().toISOString());
    return;
  }
  await authorizedChange(deps, caller, ACTIONS.manageUsers, 'SetPassword', name, async () => {
    managedUser(deps, name);
    await deps.accountAdmin.setPassword(name, password);
  });
}
