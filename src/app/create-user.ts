// Use case: create a Unix account and its database rows, crash-safely, with a UID that is never reused.

import { DiycloudError } from '../core/errors';
import { validateEmail } from '../core/email';
import { parseLimits, type VariantIn } from '../core/limits-input';
import { validateRole } from '../core/roles';
import { validateUsername } from '../core/username';
import { ACTIONS, authorizedChange, type Caller } from './authorize';
import type { AppDeps } from './deps';
import { checkPatched } from './manage-limits';
import { requireRole, syncGroups } from './manage-users';
import { recoverIntent } from './recover-intents';

/** Names no one may create, whatever NSS says today. */
export const RESERVED_NAMES = new Set(['root', 'nobody', 'nogroup', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup', 'list', 'irc', 'gnats', 'systemd-network', 'systemd-resolve', 'messagebus', 'polkitd', 'sshd', 'admin', 'operator', 'diycloud']);

export const MAX_PASSWORD_BYTES = 512;

export function validatePassword(p: unknown, field = 'password'): string {
  if (typeof p !== 'string' || p.length === 0) throw new DiycloudError('InvalidArgument', `${field}: expected a non-empty string`, { field });
  if (Buffer.byteLength(p, 'utf8') > MAX_PASSWORD_BYTES) throw new DiycloudError('InvalidArgument', `${field}: longer than ${MAX_PASSWORD_BYTES} bytes`, { field });
  if (/[\n\r\0]/.test(p)) throw new DiycloudError('InvalidArgument', `${field}: must not contain a newline or NUL`, { field });
  return p;
}

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
  if (RESERVED_NAMES.has(name)) throw new DiycloudError('NameReserved', `"${name}" is reserved for the system`);
  // Role groups (diycloud-admin, diycloud-operator, and any diycloud-* a role may map to later):
  // an account of that name would get the group as its primary group, and with it the role's rights.
  if (name.startsWith('diycloud-')) throw new DiycloudError('NameReserved', `"${name}": names starting with "diycloud-" are reserved for role groups`);
  const email = validateEmail(rawEmail);
  const role = validateRole(rawRole);
  const password = o.password === undefined ? null : validatePassword(o.password, 'options.password');
  const shell = o.shell === undefined ? deps.config.accounts.shells[0] : o.shell;
  if (typeof shell !== 'string' || !deps.config.accounts.shells.includes(shell)) {
    throw new DiycloudError('InvalidArgument', `options.shell: allowed shells are ${deps.config.accounts.shells.join(', ')}`, { field: 'shell' });
  }
  const limits = o.limits === undefined ? {} : parseLimits(o.limits as Record<string, VariantIn>);
  return authorizedChange(deps, caller, ACTIONS.manageUsers, 'CreateUser', name, async () => {
    requireRole(deps, role);
    if (deps.admin.listRoles().some((r) => r.unixGroup === name)) throw new DiycloudError('NameReserved', `"${name}" is the Unix group of a role`);
    checkPatched(deps, { cpu: null, memory: null, disk: null, gpu: null, tasks: null, ...limits }, deps.admin.role(role)?.profile ?? null);
    if (deps.store.userByName(name)) throw new DiycloudError('UserExists', `user "${name}" already exists`);
    deps.accounts.forget(name);
    const existing = await deps.accounts.byName(name);
    if (existing) throw new DiycloudError(existing.uid < deps.config.uidMin ? 'NameReserved' : 'UserExists', `"${name}" already exists in the name service (uid ${existing.uid})`);
    // useradd --user-group would make the user's primary group a group that already exists, such
    // as diycloud-admin: the account would then hold that group's rights (polkit honours primary groups).
    if (await deps.accounts.groupExists(name)) throw new DiycloudError('NameReserved', `"${name}" is the name of an existing group`);
    const { id: intent, uid } = await reserveUid(deps, name);
    try {
      await deps.accountAdmin.createAccount({ name, uid, shell, homeMode: deps.config.accounts.homeMode });
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
    deps.events.emit('UserAdded', name, uid);
    return uid;
  });
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
