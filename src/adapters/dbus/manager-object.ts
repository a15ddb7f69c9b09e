// The bus glue for org.diycloud.Manager1: each method's signature, access rule and use case.

import type { AppDeps } from '../../app/deps';
import { audited } from '../../app/audit';
import { getUser } from '../../app/get-user';
import { checkLogin, closeSession, openSession } from '../../app/login';
import { reconcile } from '../../app/reconcile';
import type { ObjectDef } from './router';

export const MANAGER_NAME = 'org.diycloud.Manager1';
export const MANAGER_PATH = '/org/diycloud/Manager1';

/** Binds the use cases to the interface described in dbus/org.diycloud.Manager1.xml. */
export function managerObject(deps: AppDeps, xml: string, version: string): ObjectDef {
  return {
    path: MANAGER_PATH,
    iface: MANAGER_NAME,
    xml,
    properties: {
      Version: { type: 's', get: () => version },
      Backend: { type: 's', get: () => deps.slices.backend },
    },
    methods: [
      {
        name: 'CheckLogin',
        inSig: 'sss',
        outSig: 'bs',
        access: 'root',
        run: async (_ctx, [user, service, rhost]) => {
          const d = checkLogin(deps, { user, service, rhost });
          if (!d.allowed) deps.log.info(`login of ${String(user)} via ${String(service)} refused: ${d.reason}`, { user: String(user), rhost: String(rhost) });
          return [d.allowed, d.reason];
        },
      },
      {
        name: 'OpenSession',
        inSig: 'ssss',
        outSig: '',
        access: 'root',
        run: async (_ctx, [user, service, tty, rhost]) => {
          const r = await openSession(deps, { user, service, tty, rhost });
          if (r?.changed.length) deps.log.info(`session of ${String(user)}: user-${r.uid}.slice set ${r.changed.join(', ')}`, { uid: r.uid });
          return [];
        },
      },
      {
        name: 'CloseSession',
        inSig: 'ssss',
        outSig: '',
        access: 'root',
        run: async (_ctx, [user, service, tty, rhost]) => {
          await closeSession(deps, { user, service, tty, rhost });
          return [];
        },
      },
      {
        name: 'GetUser',
        inSig: 's',
        outSig: 's',
        access: 'root',
        run: async (_ctx, [user]) => [JSON.stringify(await getUser(deps, user))],
      },
      {
        name: 'Reconcile',
        inSig: '',
        outSig: 's',
        access: 'root',
        run: async (ctx) => {
          const report = await audited(deps, ctx.caller, 'Reconcile', '*', () => reconcile(deps), (r) => `${r.changed.length} changed, ${r.errors.length} errors`);
          return [JSON.stringify(report)];
        },
      },
    ],
  };
}
