// Use cases that manage users: list, read, adopt, role, enable/disable, e-mail.

import { DiycloudError } from '../core/errors';
import { validateEmail } from '../core/email';
import { isManagedUid } from '../core/login-policy';
import type { SliceState, UserRecord } from '../core/ports';
import { forEachLimited } from './for-each-limited';
import { validateRole } from '../core/roles';
import { validateUsername } from '../core/username';
import { ACTIONS, authorize, authorizedChange, type Caller } from './authorize';
import type { AppDeps } from './deps';
import { allocationFor, enforceAllocation } from './enforce-allocation';
import { getUser, userView, type UserView } from './get-user';

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
  // One slice listing and one role listing for all, and live usage only for users with a slice:
  // 10,000 users must not mean 10,000 bus round trips.
  const live = new Set(await deps.slices.listUserSlices());
  const profiles = new Map(deps.admin.listRoles().map((r) => [r.name, r.profile]));
  // A few slices at a time: a long listing must not queue up ahead of the logins' calls to systemd.
  const states = new Map<number, SliceState | null>();
  await forEachLimited(rows.filter((r) => live.has(r.uid)), 24, async (r) => void states.set(r.uid, await deps.slices.observe(r.uid)));
  // Most users share their role's allocation: compute each distinct (role, overrides) pair once.
  const computed = new Map<string, ReturnType<typeof allocationFor>>();
  return rows.map((r) => {
    const profile = profiles.get(r.role) ?? null;
    const key = `${r.role}\0${JSON.stringify(r.overrides)}`;
    let c = computed.get(key);
    if (!c) computed.set(key, (c = allocationFor(deps, r.uid, r, profile)));
    return userView(deps, { name: r.username, uid: r.uid, record: r }, states.get(r.uid) ?? null, profile, c);
  });
}

/** A managed (database) user by name, resolved now; NoSuchUser when diycloud does not manage it. */
export function managedUser(deps: AppDeps, name: string): UserRecord {
  const r = deps.store.userByName(name);
  if (!r) throw new DiycloudError('NoSuchUser', `user "${name}" is not managed by diycloud (see diycloudctl user adopt)`);
  return r;
}

export function requireRole(deps: AppDeps, role: string): void {
  if (!deps.admin.role(role)) {
    const known = deps.admin.listRoles().map((r) => r.name).join(', ');
    throw new DiycloudError('InvalidArgument', `role: unknown role "${role}"; known roles: ${known}`, { field: 'role' });
  }
}

/** Keeps the Unix groups of the role-mapped groups (diycloud-admin, diycloud-operator) in step. */
export async function syncGroups(deps: AppDeps, user: string, role: string): Promise<void> {
  const memberships = deps.admin
    .listRoles()
    .filter((r) => r.unixGroup !== null)
    .map((r) => ({ group: r.unixGroup as string, member: r.name === role }));
  if (memberships.length) await deps.accountAdmin.setMembership(user, memberships);
}

async function afterChange(deps: AppDeps, r: UserRecord): Promise<void> {
  if ((await deps.slices.observe(r.uid)) !== null) await enforceAllocation(deps, r.uid);
  deps.events.emit('UserChanged', r.username, r.uid);
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
    if ((await deps.slices.observe(account.uid)) !== null) await enforceAllocation(deps, account.uid);
    deps.events.emit('UserAdded', name, account.uid);
    return account.uid;
  });
}

export async function setRole(deps: AppDeps, caller: Caller, rawName: unknown, rawRole: unknown): Promise<void> {
  const name = validateUsername(rawName);
  const role = validateRole(rawRole);
  await authorizedChange(deps, caller, ACTIONS.manageUsers, 'SetRole', name, async () => {
    requireRole(deps, role);
    const r = managedUser(deps, name);
    deps.admin.setRole(r.uid, role);
    await syncGroups(deps, name, role);
    await afterChange(deps, r);
  });
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

export { afterChange };
