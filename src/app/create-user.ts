// Use case: create a Unix account and its database rows, crash-safely, with a UID that is never reused.

import { checkPatched } from '../core/allocation-decision';
import { DiycloudError } from '../core/errors';
import { validateEmail } from '../core/email';
import { checkGpuPatch } from './check-gpus';
import { parseLimits, type LimitsInput } from '../core/limits-input';
import { validatePassword } from '../core/password';
import type { Caller } from '../core/ports';
import { validateRole } from '../core/roles';
import { reservedNameProblem, validateUsername } from '../core/username';
import { ACTIONS, authorizedChange } from './authorize';
import type { AppDeps } from './deps';
import { allocationOf, enforceAllocation } from './enforce-allocation';
import { requireEnforcedQuotas } from './enforce-disk';
import { requireRole } from './managed-user';
import { recoverIntent } from './recover-intents';
import { syncGpuGroupsOf, syncGroups } from './sync-groups';

export interface CreateOptions {
  password?: unknown;
  limits?: unknown;
  shell?: unknown;
}

/**
 * Order, so that a crash (kill -9) at any point is repaired at the next start:
 *  1. validate everything and authorize (nothing changed yet);
 *  2. serialize on the name, and refuse names the database, NSS or the reserved list hold;
 *  3. allocate a UID no account ever had, and write it with the intent (one transaction);
 *  4. useradd with that UID, then chpasswd (password on stdin);
 *  5. insert the rows and drop the intent in one transaction; then role groups and the signal.
 * If 4 fails, the intent is undone at once; if the process dies, recover-intents undoes it.
 */
export async function createUser(deps: AppDeps, caller: Caller, rawName: unknown, rawEmail: unknown, rawRole: unknown, o: CreateOptions): Promise<number> {
  const name = validateUsername(rawName);
  const reserved = reservedNameProblem(name);
  if (reserved) throw new DiycloudError('NameReserved', reserved);
  const email = validateEmail(rawEmail);
  const role = validateRole(rawRole);
  const password = o.password === undefined ? null : validatePassword(o.password, 'options.password');
  const shell = o.shell === undefined ? deps.config.accounts.shells[0] : o.shell;
  if (typeof shell !== 'string' || !deps.config.accounts.shells.includes(shell)) {
    throw new DiycloudError('InvalidArgument', `options.shell: allowed shells are ${deps.config.accounts.shells.join(', ')}`, { field: 'shell' });
  }
  const limits = o.limits === undefined ? {} : parseLimits(o.limits as LimitsInput);
  return authorizedChange(deps, caller, ACTIONS.manageUsers, 'CreateUser', name, async () => {
    requireRole(deps, role);
    // An explicit disk limit a path cannot hold is refused before any account exists.
    if (limits.disk !== undefined) await requireEnforcedQuotas(deps);
    checkGpuPatch(deps, limits);
    if (deps.admin.listRoles().some((r) => r.unixGroup === name)) throw new DiycloudError('NameReserved', `"${name}" is the Unix group of a role`);
    checkPatched({ user: { cpu: null, memory: null, disk: null, gpu: null, tasks: null, ...limits }, role: deps.admin.role(role)?.profile ?? null, defaults: deps.config.defaults, bounds: deps.bounds });
    if (deps.store.userByName(name)) throw new DiycloudError('UserExists', `user "${name}" already exists`);
    deps.accounts.forget(name);
    const existing = await deps.accounts.byName(name);
    if (existing) throw new DiycloudError(existing.uid < deps.config.uidMin ? 'NameReserved' : 'UserExists', `"${name}" already exists in the name service (uid ${existing.uid})`);
    // useradd --user-group would make the user's primary group a group that already exists, such
    // as diycloud-admin: the account would then hold that group's rights (polkit honours primary groups).
    if (await deps.accounts.groupExists(name)) throw new DiycloudError('NameReserved', `"${name}" is the name of an existing group`);
    const { id: intent, uid } = await reserveUid(deps, name);
    try {
      // On btrfs the home is made a subvolume, so that a qgroup can hold it.
      const subvolumeHome = await subvolumeHomeWanted(deps, name);
      await deps.accountAdmin.createAccount({ name, uid, shell, homeMode: deps.config.accounts.homeMode, subvolumeHome });
      if (password !== null) await deps.accountAdmin.setPassword(name, password);
    } catch (e) {
      await recoverIntent(deps, { id: intent, op: 'create', username: name, uid, detail: {} }).catch((re: unknown) => deps.log.error(`could not undo the half-created ${name}: ${(re as Error).message}`));
      throw e;
    }
    deps.accounts.forget(name);
    deps.admin.transaction(() => {
      deps.admin.addUser({ name, uid, role, email }, deps.clock.now().toISOString());
      deps.admin.setUserLimits(uid, limits);
      deps.admin.endIntent(intent);
    });
    await syncGroups(deps, name, role);
    await syncGpuGroupsOf(deps, { name, uid }, allocationOf(deps, uid).allocation.gpus);
    // The quota before the first login. Asked for explicitly (limits.disk), a quota that cannot be
    // held is an error; the default one is best effort, reported by GetUser and doctor.
    await enforceAllocation(deps, uid, { purpose: limits.disk !== undefined ? 'change' : 'reconcile', cgroup: false });
    deps.events.emit('UserAdded', name, uid);
    return uid;
  });
}

/** Whether a quota path wants the new home (under the default home directory /home/NAME) as its own subvolume. */
async function subvolumeHomeWanted(deps: AppDeps, name: string): Promise<boolean> {
  for (const q of deps.quotas) if (await q.wantsSubvolumeHome(`/home/${name}`)) return true;
  return false;
}

/**
 * A UID inside the managed range that diycloud never allocated and NSS does not know, recorded with
 * the create intent before any await (so parallel creations never pick the same one). A UID NSS
 * already holds stays allocated (it is someone's) and the next one is tried.
 */
async function reserveUid(deps: AppDeps, name: string): Promise<{ id: number; uid: number }> {
  const range = { min: deps.config.uidMin, max: deps.config.uidMax };
  for (let tries = 0; tries < 1000; tries++) {
    const r = deps.admin.beginCreateIntent(name, range, deps.clock.now().toISOString());
    if (!r) break;
    let taken: boolean;
    try {
      taken = (await deps.accounts.byUid(r.uid)) !== null;
    } catch (e) {
      deps.admin.endIntent(r.id);
      throw e;
    }
    if (!taken) return r;
    deps.admin.endIntent(r.id);
  }
  throw new DiycloudError('BackendFailed', `no free uid left in ${range.min}-${range.max}`);
}
