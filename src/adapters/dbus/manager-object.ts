// The bus glue for org.diycloud.Manager1: each method's signature, access rule and use case.

import type { AppDeps } from '../../app/deps';
import { audited } from '../../app/audit';
import type { Caller } from '../../app/authorize';
import { checkLogin, closeSession, openSession } from '../../app/login';
import { auditLog, listProfiles, resetLimits, setLimits, setProfile } from '../../app/manage-limits';
import { adoptUser, listUsers, readUser, setEmail, setEnabled, setRole } from '../../app/manage-users';
import { reconcile } from '../../app/reconcile';
import { createUser } from '../../app/create-user';
import { deleteUser } from '../../app/delete-user';
import { setPassword } from '../../app/set-password';
import { DiycloudError } from '../../core/errors';
import type { VariantIn } from '../../core/limits-input';
import type { CallContext, MethodDef, ObjectDef } from './router';

export const MANAGER_NAME = 'org.diycloud.Manager1';
/** The same object under a root-only name, on a connection of its own: the PAM hook's way in. */
export const LOGIN_NAME = 'org.diycloud.Login1';
export const MANAGER_PATH = '/org/diycloud/Manager1';

type Dict = Record<string, VariantIn>;

const caller = (ctx: CallContext): Caller => ({ busName: ctx.caller.busName, uid: ctx.caller.uid, pid: ctx.caller.pid, interactive: ctx.interactive });

/**
 * An a{sv} as dbus-next decodes it: a plain object. A "__proto__" key is not stored as a key by
 * the decoder but replaces the object's prototype, so it is detected by that and refused like any
 * other unknown key.
 */
function dict(d: unknown, field: string): Dict {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new DiycloudError('InvalidArgument', `${field}: expected a dictionary (a{sv})`, { field });
  if (Object.getPrototypeOf(d) !== Object.prototype) throw new DiycloudError('InvalidArgument', `${field}: unknown key "__proto__"`, { field });
  return d as Dict;
}

const INTEGER = ['y', 'n', 'q', 'i', 'u', 'x', 't'];

/** Plain values of an a{sv} whose keys are all known and of an accepted type; anything else is InvalidArgument. */
function options(d: unknown, spec: Readonly<Record<string, readonly string[]>>, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict(d ?? {}, field))) {
    if (!Object.prototype.hasOwnProperty.call(spec, k)) throw new DiycloudError('InvalidArgument', `${field}: unknown key "${k.slice(0, 40)}"; known keys: ${Object.keys(spec).join(', ')}`, { field });
    if (!spec[k].includes(v.signature)) throw new DiycloudError('InvalidArgument', `${field}.${k}: expected type ${spec[k].join(' or ')}, got ${String(v.signature).slice(0, 20)}`, { field: k });
    out[k] = k === 'limits' ? dict(v.value, 'options.limits') : typeof v.value === 'bigint' ? Number(v.value) : v.value;
  }
  return out;
}

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
      Backend: { type: 's', get: () => deps.slices.backend },
      Gpus: { type: 's', get: () => JSON.stringify(deps.gpus()) },
    },
    methods: [
      m('CheckLogin', 'sss', 'bs', 'root', async (_ctx, [user, service, rhost]) => {
        const d = checkLogin(deps, { user, service, rhost });
        if (!d.allowed) deps.log.info(`login of ${String(user)} via ${String(service)} refused: ${d.reason}`, { user: String(user), rhost: String(rhost) });
        return [d.allowed, d.reason];
      }),
      m('OpenSession', 'ssss', '', 'root', async (ctx, [user, service, tty, rhost]) => {
        const r = await openSession(deps, { user, service, tty, rhost }, ctx.caller.pid);
        if (r?.changed.length) deps.log.info(`session of ${String(user)}: user-${r.uid}.slice set ${r.changed.join(', ')}`, { uid: r.uid });
        return [];
      }),
      m('CloseSession', 'ssss', '', 'root', async (_ctx, [user, service, tty, rhost]) => {
        await closeSession(deps, { user, service, tty, rhost });
        return [];
      }),
      m('GetUser', 's', 's', 'caller', async (ctx, [user]) => json(await readUser(deps, caller(ctx), user))),
      m('Reconcile', '', 's', 'root', async (ctx) =>
        json(await audited(deps, ctx.caller, 'Reconcile', '*', () => reconcile(deps), (r) => `${r.changed.length} changed, ${r.errors.length} errors`)),
      ),
      m('CreateUser', 'sssa{sv}', 'u', 'caller', async (ctx, [user, email, role, o]) => [
        await createUser(deps, caller(ctx), user, email, role, options(o, { password: ['s'], limits: ['a{sv}'], shell: ['s'] }, 'options')),
      ]),
      m('DeleteUser', 'sa{sv}', '', 'caller', async (ctx, [user, o]) => (await deleteUser(deps, caller(ctx), user, options(o, { force: ['b'], remove_home: ['b'] }, 'options')), [])),
      m('SetPassword', 'sss', '', 'caller', async (ctx, [user, pw, old]) => (await setPassword(deps, caller(ctx), user, pw, old), [])),
      m('ListUsers', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await listUsers(deps, caller(ctx), options(f, { role: ['s'], enabled: ['b'] }, 'filter')))),
      m('AdoptUser', 'ss', '', 'caller', async (ctx, [user, role]) => (await adoptUser(deps, caller(ctx), user, role), [])),
      m('SetRole', 'ss', '', 'caller', async (ctx, [user, role]) => (await setRole(deps, caller(ctx), user, role), [])),
      m('SetEnabled', 'sba{sv}', '', 'caller', async (ctx, [user, enabled, o]) => (await setEnabled(deps, caller(ctx), user, enabled, options(o, { terminate: ['b'] }, 'options')), [])),
      m('SetEmail', 'ss', '', 'caller', async (ctx, [user, email]) => (await setEmail(deps, caller(ctx), user, email), [])),
      m('SetLimits', 'sa{sv}', '', 'caller', async (ctx, [user, l]) => (await setLimits(deps, caller(ctx), user, dict(l, 'limits')), [])),
      m('ResetLimits', 's', '', 'caller', async (ctx, [user]) => (await resetLimits(deps, caller(ctx), user), [])),
      m('SetProfile', 'sa{sv}', '', 'caller', async (ctx, [role, l]) => (await setProfile(deps, caller(ctx), role, dict(l, 'limits')), [])),
      m('ListProfiles', '', 's', 'caller', async (ctx) => json(await listProfiles(deps, caller(ctx)))),
      m('GetAuditLog', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await auditLog(deps, caller(ctx), options(f, { limit: INTEGER, user: ['s'] }, 'filter')))),
    ],
  };
}
