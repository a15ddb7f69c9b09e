// The bus glue for org.diycloud.Manager1: each method's signature, access rule and use case.

import type { AppDeps } from '../../app/deps';
import { audited } from '../../app/audit';
import { checkLogin, closeSession, openSession } from '../../app/login';
import { auditLog, listProfiles, resetLimits, setLimits, setProfile } from '../../app/manage-limits';
import { adoptUser, listUsers, readUser, setEmail, setEnabled, setRole } from '../../app/manage-users';
import { queryUsers } from '../../app/query-users';
import { getHostSummary, getLimitEvents, getUsage, getUsageHistory, listSessions } from '../../app/usage-queries';
import { reconcile } from '../../app/reconcile';
import { createUser } from '../../app/create-user';
import { decideRequest, fileRequest, listRequests } from '../../app/limit-requests';
import { deleteUser } from '../../app/delete-user';
import { setPassword } from '../../app/set-password';
import { INTEGER, limits, options } from './decode';
import { JsonArray } from './json-array-reply';
import type { MethodDef, ObjectDef } from './router';

export const MANAGER_NAME = 'org.diycloud.Manager1';
/** The same object under a root-only name, on a connection of its own: the PAM hook's way in. */
export const LOGIN_NAME = 'org.diycloud.Login1';
export const MANAGER_PATH = '/org/diycloud/Manager1';

/** Binds the use cases to the interface described in dbus/org.diycloud.Manager1.xml. */
export function managerObject(deps: AppDeps, xml: string, version: string): ObjectDef {
  const m = (name: string, inSig: string, outSig: string, access: MethodDef['access'], run: MethodDef['run']): MethodDef => ({ name, inSig, outSig, access, run });
  const json = (v: unknown) => [JSON.stringify(v)];
  return {
    path: MANAGER_PATH,
    iface: MANAGER_NAME,
    xml,
    properties: {
      Version: { type: 's', get: () => version },
      Backend: { type: 's', get: () => deps.cgroups.backend },
      Gpus: { type: 's', get: () => JSON.stringify(deps.gpus()) },
    },
    methods: [
      m('CheckLogin', 'sss', 'bs', 'root', async (_ctx, [user, service, rhost]) => {
        const d = checkLogin(deps, { user, service, rhost });
        if (!d.allowed) deps.log.info(`login of ${String(user)} via ${String(service)} refused: ${d.reason}`, { user: String(user), rhost: String(rhost) });
        return [d.allowed, d.reason];
      }),
      // OpenSession: from pam_exec's hook (the login process is its parent); OpenSessionHere: from
      // pam_diycloud.so inside the PAM application (the caller is the login process).
      ...(['OpenSession', 'OpenSessionHere'] as const).map((name) =>
        m(name, 'ssss', 's', 'root', async (ctx, [user, service, tty, rhost]) => {
          const r = await openSession(deps, { user, service, tty, rhost }, ctx.caller.pid, name === 'OpenSession' ? 'hook-parent' : 'caller');
          if (r?.changed.length) deps.log.info(`session of ${String(user)}: uid ${r.uid}'s cgroup set ${r.changed.join(', ')}`, { uid: r.uid });
          // The login line (empty for users diycloud does not manage); the gate shows it to interactive logins.
          return [r?.message ?? ''];
        }),
      ),
      m('CloseSession', 'ssss', '', 'root', async (_ctx, [user, service, tty, rhost]) => {
        await closeSession(deps, { user, service, tty, rhost });
        return [];
      }),
      m('GetUser', 's', 's', 'caller', async (ctx, [user]) => json(await readUser(deps, ctx.caller, user))),
      m('Reconcile', '', 's', 'root', async (ctx) =>
        json(await audited(deps, ctx.caller, 'Reconcile', '*', () => reconcile(deps), (r) => `${r.changed.length} changed, ${r.errors.length} errors`)),
      ),
      m('CreateUser', 'sssa{sv}', 'u', 'caller', async (ctx, [user, email, role, o]) => [
        await createUser(deps, ctx.caller, user, email, role, options(o, { password: ['s'], limits: ['a{sv}'], shell: ['s'] }, 'options')),
      ]),
      m('DeleteUser', 'sa{sv}', '', 'caller', async (ctx, [user, o]) => (await deleteUser(deps, ctx.caller, user, options(o, { force: ['b'], remove_home: ['b'] }, 'options')), [])),
      m('SetPassword', 'sss', '', 'caller', async (ctx, [user, pw, old]) => (await setPassword(deps, ctx.caller, user, pw, old), [])),
      // The largest reply (10,000 users: 5.6 MB): the router marshals it without one giant string (json-array-reply.ts).
      m('ListUsers', 'a{sv}', 's', 'caller', async (ctx, [f]) => [new JsonArray(await listUsers(deps, ctx.caller, options(f, { role: ['s'], enabled: ['b'] }, 'filter')))]),
      // A page of users (docs/dbus-api.md): filtered, sorted and paged before the per-user cgroup reads.
      m('QueryUsers', 'a{sv}', 's', 'caller', async (ctx, [q]) =>
        json(await queryUsers(deps, ctx.caller, options(q, { offset: INTEGER, limit: INTEGER, search: ['s'], role: ['s'], enabled: ['b'], hasGpu: ['b'], overQuota: ['b'], sort: ['s'], order: ['s'] }, 'query'))),
      ),
      m('AdoptUser', 'ss', '', 'caller', async (ctx, [user, role]) => (await adoptUser(deps, ctx.caller, user, role), [])),
      m('SetRole', 'ss', 'as', 'caller', async (ctx, [user, role]) => [await setRole(deps, ctx.caller, user, role)]),
      m('SetEnabled', 'sba{sv}', '', 'caller', async (ctx, [user, enabled, o]) => (await setEnabled(deps, ctx.caller, user, enabled, options(o, { terminate: ['b'] }, 'options')), [])),
      m('SetEmail', 'ss', '', 'caller', async (ctx, [user, email]) => (await setEmail(deps, ctx.caller, user, email), [])),
      m('SetLimits', 'sa{sv}', 'as', 'caller', async (ctx, [user, l]) => [await setLimits(deps, ctx.caller, user, limits(l))]),
      m('ResetLimits', 's', 'as', 'caller', async (ctx, [user]) => [await resetLimits(deps, ctx.caller, user)]),
      m('SetProfile', 'sa{sv}', 'as', 'caller', async (ctx, [role, l]) => [await setProfile(deps, ctx.caller, role, limits(l))]),
      m('ListProfiles', '', 's', 'caller', async (ctx) => json(await listProfiles(deps, ctx.caller))),
      m('GetAuditLog', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await auditLog(deps, ctx.caller, options(f, { limit: INTEGER, user: ['s'] }, 'filter')))),
      // The portal's reads (docs/dbus-api.md): usage history and latest samples, events, sessions, the host view.
      m('GetUsageHistory', 'ss', 's', 'caller', async (ctx, [user, range]) => json(await getUsageHistory(deps, ctx.caller, user, range))),
      m('GetUsage', 'as', 's', 'caller', async (ctx, [users]) => json(await getUsage(deps, ctx.caller, users))),
      m('GetLimitEvents', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await getLimitEvents(deps, ctx.caller, options(f, { user: ['s'], limit: INTEGER }, 'filter')))),
      m('ListSessions', 's', 's', 'caller', async (ctx, [user]) => json(await listSessions(deps, ctx.caller, user))),
      m('GetHostSummary', '', 's', 'caller', async (ctx) => json(await getHostSummary(deps, ctx.caller))),
      // The "request more" queue (docs/dbus-api.md): file for oneself, list, decide (manage-limits; approval goes through SetLimits).
      m('FileRequest', 'sss', 's', 'caller', async (ctx, [resource, amount, reason]) => json(await fileRequest(deps, ctx.caller, resource, amount, reason))),
      m('ListRequests', 'a{sv}', 's', 'caller', async (ctx, [o]) => json(await listRequests(deps, ctx.caller, options(o, { user: ['s'], state: ['s'], offset: INTEGER, limit: INTEGER }, 'options')))),
      m('DecideRequest', 'ubs', 's', 'caller', async (ctx, [id, approve, reason]) => json(await decideRequest(deps, ctx.caller, id, approve, reason))),
    ],
  };
}
