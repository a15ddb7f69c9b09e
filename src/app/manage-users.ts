// Use cases that manage users: list, read, adopt, role, enable/disable, e-mail.

import { DiycloudError } from '../core/errors';
import { validateEmail } from '../core/email';
import { isManagedUid } from '../core/login-policy';
import type { Caller } from '../core/ports';
import { validateRole } from '../core/roles';
import { validateUsername } from '../core/username';
import { ACTIONS, authorize, authorizedChange } from './authorize';
import type { AppDeps } from './deps';
import { enforceAfterChange, enforceAllocation } from './enforce-allocation';
import { readDiskUsage } from './disk-usage';
import { getUser, type UserView } from './get-user';
import { decider, userViews } from './query-users';
import { managedUser, requireRole } from './managed-user';
import { syncGroups } from './sync-groups';

/**
 * Reading your own record needs nothing; reading anyone else's needs read-users, asked before the
 * name is looked up: a flood of made-up names must cost polkit checks, not child programs.
 */
export async function readUser(deps: AppDeps, caller: Caller, rawName: unknown): Promise<UserView> {
  const name = validateUsername(rawName);
  if (caller.uid !== 0 && !(await isOwnName(deps, caller.uid, name))) await authorize(deps, caller, ACTIONS.readUsers, name);
  return getUser(deps, name);
}

/** Whether `name` is the caller's own account (the database first, then NSS by the caller's uid, cached). */
async function isOwnName(deps: AppDeps, uid: number, name: string): Promise<boolean> {
  const record = deps.store.userByName(name);
  if (record) return record.uid === uid;
  return (await deps.accounts.byUid(uid))?.name === name;
}

export async function listUsers(deps: AppDeps, caller: Caller, filter: { role?: unknown; enabled?: unknown }): Promise<UserView[]> {
  const role = filter.role === undefined ? undefined : validateRole(filter.role);
  if (filter.enabled !== undefined && typeof filter.enabled !== 'boolean') throw new DiycloudError('InvalidArgument', 'filter.enabled: expected a boolean', { field: 'enabled' });
  await authorize(deps, caller, ACTIONS.readUsers, '*');
  const rows = deps.admin.listUsers({ role, enabled: filter.enabled as boolean | undefined });
  // One cgroup listing, one role listing and one usage read per quota path for all, and live usage
  // only for users with a cgroup: 10,000 users must not mean 10,000 bus round trips or processes.
  return userViews(deps, rows, decider(deps), readDiskUsage(deps));
}

export async function adoptUser(deps: AppDeps, caller: Caller, rawName: unknown, rawRole: unknown): Promise<number> {
  const name = validateUsername(rawName);
  const role = validateRole(rawRole);
  return authorizedChange(deps, caller, ACTIONS.manageUsers, 'AdoptUser', name, async () => {
    requireRole(deps, role);
    const account = await deps.accounts.byName(name);
    if (!account) throw new DiycloudError('NoSuchUser', `user "${name}" does not exist in the name service (NSS)`);
    if (!isManagedUid(account.uid, deps.config)) {
      throw new DiycloudError('NameReserved', `"${name}" has uid ${account.uid}, outside the managed range ${deps.config.uidMin}-${deps.config.uidMax}`);
    }
    deps.admin.addUser({ name, uid: account.uid, role, email: null }, deps.clock.now().toISOString());
    await syncGroups(deps, name, role);
    // The quota before the next login (best effort: an existing home may not be a subvolume on btrfs; GetUser shows it).
    await enforceAllocation(deps, account.uid, { purpose: 'reconcile', cgroup: (await deps.cgroups.observe(account.uid)) !== null });
    deps.events.emit('UserAdded', name, account.uid);
    return account.uid;
  });
}

/** Returns the warnings for the reply (the new role's profile may leave the user over quota). */
export async function setRole(deps: AppDeps, caller: Caller, rawName: unknown, rawRole: unknown): Promise<string[]> {
  const name = validateUsername(rawName);
  const role = validateRole(rawRole);
  return authorizedChange(deps, caller, ACTIONS.manageUsers, 'SetRole', name, async () => {
    requireRole(deps, role);
    const r = managedUser(deps, name);
    deps.admin.setRole(r.uid, role);
    await syncGroups(deps, name, role);
    return enforceAfterChange(deps, r, false);
  }, (w) => w.join('; '));
}

export async function setEnabled(deps: AppDeps, caller: Caller, rawName: unknown, enabled: unknown, options: { terminate?: unknown }): Promise<void> {
  const name = validateUsername(rawName);
  if (typeof enabled !== 'boolean') throw new DiycloudError('InvalidArgument', 'enabled: expected a boolean', { field: 'enabled' });
  if (options.terminate !== undefined && typeof options.terminate !== 'boolean') throw new DiycloudError('InvalidArgument', 'options.terminate: expected a boolean', { field: 'terminate' });
  await authorizedChange(deps, caller, ACTIONS.setEnabled, enabled ? 'Enable' : 'Disable', name, async () => {
    const r = managedUser(deps, name);
    // Shadow first: when it fails, nothing has changed. A disabled account is also expired, so
    // pam_unix refuses it without us (the daemon down, or FailureMode=open under a flood).
    if (enabled) {
      await deps.accountAdmin.enable(name, deps.admin.savedExpiry(r.uid));
      deps.admin.transaction(() => {
        deps.admin.setSavedExpiry(r.uid, null);
        deps.admin.setEnabled(r.uid, true);
      });
    } else {
      const before = await deps.accountAdmin.disable(name);
      deps.admin.transaction(() => {
        // Disabling twice must not save our own expiry as the one to restore.
        if (before !== null && deps.admin.savedExpiry(r.uid) === null) deps.admin.setSavedExpiry(r.uid, before);
        deps.admin.setEnabled(r.uid, false);
      });
    }
    if (!enabled && options.terminate === true) await deps.sessions.terminateUser(r.uid);
    deps.events.emit('UserChanged', name, r.uid);
  });
}

export async function setEmail(deps: AppDeps, caller: Caller, rawName: unknown, rawEmail: unknown): Promise<void> {
  const name = validateUsername(rawName);
  const email = validateEmail(rawEmail);
  await authorizedChange(deps, caller, ACTIONS.manageUsers, 'SetEmail', name, async () => {
    const r = managedUser(deps, name);
    deps.admin.setEmail(r.uid, email);
    deps.events.emit('UserChanged', name, r.uid);
  });
}

