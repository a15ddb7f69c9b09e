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
export const MANAGER_PATH = '/org/diycloud/Manager1';

type Dict = Record<string, VariantIn>;

const caller = (ctx: CallContext): Caller => ({ busName: ctx.caller.busName, uid: ctx.caller.uid, pid: ctx.caller.pid, interactive: ctx.interactive });

/** Plain values of an a{sv} whose keys are all known; unknown keys are InvalidArgument. */
function options(d: unknown, known: string[], field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((d ?? {}) as Dict)) {
    if (!known.includes(k)) throw new DiycloudError('InvalidArgument', `${field}: unknown key "${k.slice(0, 40)}"; known keys: ${known.join(', ')}`, { field });
    out[k] = typeof v.value === 'bigint' ? Number(v.value) : v.value;
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
      m('OpenSession', 'ssss', '', 'root', async (_ctx, [user, service, tty, rhost]) => {
        const r = await openSession(deps, { user, service, tty, rhost });
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
      m('CreateUser', 'sssa{sv}', 'u', 'caller', async (ctx, [user, email, role, o]) => {
        const raw = (o ?? {}) as Dict;
        const opts = options(o, ['password', 'limits', 'shell'], 'options');
        return [await createUser(deps, caller(ctx), user, email, role, { ...opts, limits: raw.limits?.value })];
      }),
      m('DeleteUser', 'sa{sv}', '', 'caller', async (ctx, [user, o]) => (await deleteUser(deps, caller(ctx), user, options(o, ['force', 'remove_home'], 'options')), [])),
      m('SetPassword', 'sss', '', 'caller', async (ctx, [user, pw, old]) => (await setPassword(deps, caller(ctx), user, pw, old), [])),
      m('ListUsers', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await listUsers(deps, caller(ctx), options(f, ['role', 'enabled'], 'filter')))),
      m('AdoptUser', 'ss', '', 'caller', async (ctx, [user, role]) => (await adoptUser(deps, caller(ctx), user, role), [])),
      m('SetRole', 'ss', '', 'caller', async (ctx, [user, role]) => (await setRole(deps, caller(ctx), user, role), [])),
      m('SetEnabled', 'sba{sv}', '', 'caller', async (ctx, [user, enabled, o]) => (await setEnabled(deps, caller(ctx), user, enabled, options(o, ['terminate'], 'options')), [])),
      m('SetEmail', 'ss', '', 'caller', async (ctx, [user, email]) => (await setEmail(deps, caller(ctx), user, email), [])),
      m('SetLimits', 'sa{sv}', '', 'caller', async (ctx, [user, l]) => (await setLimits(deps, caller(ctx), user, l as Dict), [])),
      m('ResetLimits', 's', '', 'caller', async (ctx, [user]) => (await resetLimits(deps, caller(ctx), user), [])),
      m('SetProfile', 'sa{sv}', '', 'caller', async (ctx, [role, l]) => (await setProfile(deps, caller(ctx), role, l as Dict), [])),
      m('ListProfiles', '', 's', 'caller', async (ctx) => json(await listProfiles(deps, caller(ctx)))),
      m('GetAuditLog', 'a{sv}', 's', 'caller', async (ctx, [f]) => json(await auditLog(deps, caller(ctx), options(f, ['limit', 'user'], 'filter')))),
    ],
  };
}
