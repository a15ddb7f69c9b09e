// The bus glue for org.diycloud.Web1: diycloud-web's way in (log in, look a session up, log out, call Manager1 as the session's user).

import { Variant } from 'dbus-next';
import type { AppDeps } from '../../app/deps';
import { describeWebSession, webCaller, webLogin, webLogout, webSession, type WebState } from '../../app/web-sessions';
import { DiycloudError } from '../../core/errors';
import { options } from './decode';
import { JsonArray } from './json-array-reply';
import type { CallLimits, MethodDef, ObjectDef } from './router';
import { splitSignature } from './signature';

export const WEB_NAME = 'org.diycloud.Web1';
export const WEB_PATH = '/org/diycloud/Web1';

/**
 * One diycloud-web connection serves every browser: its caps are those of a busy proxy, not of one
 * user. The bus policy lets only root and the diycloud-web user send here.
 */
export const WEB_CALL_LIMITS: CallLimits = { perConnection: 256, perUid: 256, nonRoot: 512, total: 2048, unidentifiedPerConnection: 128 };

/**
 * Call(token, member, args) runs Manager1's own MethodDef for `member`, so a web call is decoded,
 * authorized, queued, audited and answered exactly as the same call on the bus; only the Caller
 * differs: the session's user (kind "web"), whose polkit subject stands for that uid. Root-only
 * methods (the login path, Reconcile) are not reachable this way.
 */
export function webObject(deps: AppDeps, web: WebState, manager: ObjectDef, xml: string): ObjectDef {
  const callable = new Map(manager.methods.filter((m) => m.access === 'caller').map((m) => [m.name, m]));
  const m = (name: string, inSig: string, outSig: string, run: MethodDef['run']): MethodDef => ({ name, inSig, outSig, access: 'caller', run });
  const fromDaemonUser = async (uid: number): Promise<void> => {
    if (uid !== 0 && uid !== (await web.serviceUid().catch(() => null))) throw new DiycloudError('PermissionDenied', 'only diycloud-web may use org.diycloud.Web1');
  };
  return {
    path: WEB_PATH,
    iface: WEB_NAME,
    xml,
    properties: {},
    methods: [
      m('Login', 'ssa{sv}', 's', async (ctx, [user, password, client]) => {
        await fromDaemonUser(ctx.caller.uid);
        const c = options(client, { address: ['s'], userAgent: ['s'] }, 'client');
        return [JSON.stringify(await webLogin(deps, web, { user, password, address: typeof c.address === 'string' ? c.address : '' }))];
      }),
      m('Logout', 's', '', async (ctx, [token]) => {
        await fromDaemonUser(ctx.caller.uid);
        webLogout(web, token);
        return [];
      }),
      m('Session', 's', 's', async (ctx, [token]) => {
        await fromDaemonUser(ctx.caller.uid);
        return [JSON.stringify(await describeWebSession(deps, web, token, ctx.caller.busName))];
      }),
      m('Call', 'ssav', 'av', async (ctx, [token, member, args]) => {
        await fromDaemonUser(ctx.caller.uid);
        const rec = webSession(deps, web, token);
        const target = typeof member === 'string' ? callable.get(member) : undefined;
        if (!target) throw new DiycloudError('InvalidArgument', `member: ${String(member).slice(0, 40)} cannot be called through a web session`, { field: 'member' });
        const vs = (Array.isArray(args) ? args : []) as Variant[];
        const sig = vs.map((v) => v.signature).join('');
        if (sig !== target.inSig) throw new DiycloudError('InvalidArgument', `args: ${target.name} takes (${target.inSig}), got (${sig.slice(0, 60)})`, { field: 'args' });
        const out = await target.run({ caller: webCaller(rec, ctx.caller.busName) }, vs.map((v) => v.value));
        const types = splitSignature(target.outSig);
        return [out.map((v, i) => new Variant(types[i], v instanceof JsonArray ? v.text() : v))];
      }),
    ],
  };
}
