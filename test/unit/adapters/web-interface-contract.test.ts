// Unit: org.diycloud.Web1's bus glue implements exactly dbus/org.diycloud.Web1.xml, and reaches only Manager1's non-root methods.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Variant } from 'dbus-next';
import { parseInterfaceXml } from '../../../src/adapters/dbus/interface-xml';
import { managerObject } from '../../../src/adapters/dbus/manager-object';
import { splitSignature } from '../../../src/adapters/dbus/signature';
import { WEB_NAME, webObject } from '../../../src/adapters/dbus/web-object';
import type { AppDeps } from '../../../src/app/deps';
import { LoginThrottle, WebSessionTable } from '../../../src/core/web-session';

const read = (f: string) => readFileSync(join(__dirname, '../../../dbus', f), 'utf8');

describe('org.diycloud.Web1 vs dbus/org.diycloud.Web1.xml', () => {
  const deps = { store: { userByUid: () => null }, clock: { now: () => new Date(0) } } as unknown as AppDeps;
  const manager = managerObject({ slices: { backend: 'x' } } as unknown as AppDeps, read('org.diycloud.Manager1.xml'), '0');
  const web = { table: new WebSessionTable({ idleMs: 1e9, absoluteMs: 1e9, maxPerUser: 4, maxTotal: 10 }), throttle: new LoginThrottle({ windowMs: 1, perUser: 1, perAddress: 1 }), tokens: { newToken: () => 'tok', keyOf: (t: string) => `k:${t}` }, serviceUid: async () => 990 };
  const obj = webObject(deps, web, manager, read('org.diycloud.Web1.xml'));

  it('every XML method is implemented with the same signatures, and nothing more', () => {
    const declared = parseInterfaceXml(read('org.diycloud.Web1.xml')).methods.filter((m) => m.iface === WEB_NAME).map((m) => `${m.name}(${m.inSig})->(${m.outSig})`).sort();
    expect(obj.methods.map((m) => `${m.name}(${m.inSig})->(${m.outSig})`).sort()).toEqual(declared);
  });

  it('refuses a sender that is neither root nor diycloud-web, and root-only Manager1 methods', async () => {
    const call = obj.methods.find((m) => m.name === 'Call')!;
    const as = (uid: number) => ({ caller: { busName: ':1.9', uid, pid: 1, interactive: false } });
    await expect(call.run(as(1000), ['tok', 'GetUser', [new Variant('s', 'x')]])).rejects.toMatchObject({ code: 'PermissionDenied' });
    for (const name of ['Login', 'Logout', 'Session']) {
      const args = name === 'Login' ? ['alice', 'pw', {}] : ['tok'];
      await expect(obj.methods.find((m) => m.name === name)!.run(as(1000), args), name).rejects.toMatchObject({ code: 'PermissionDenied' });
    }
    await expect(call.run(as(990), ['nope', 'GetUser', [new Variant('s', 'x')]])).rejects.toMatchObject({ code: 'SessionExpired' });
    web.table.create('k:tok', { user: 'alice', uid: 2001, csrfToken: 'c' }, 0);
    for (const member of ['CheckLogin', 'OpenSession', 'OpenSessionHere', 'CloseSession', 'Reconcile', 'Login', 'NoSuch']) {
      await expect(call.run(as(990), ['tok', member, []]), member).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
    await expect(call.run(as(990), ['tok', 'GetUser', [new Variant('u', 1)]])).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('takes (s)') });
  });
});

describe('splitSignature', () => {
  it('splits into complete types and refuses malformed signatures', () => {
    expect(splitSignature('sa{sv}as(ib)aa{s(uu)}')).toEqual(['s', 'a{sv}', 'as', '(ib)', 'aa{s(uu)}']);
    expect(splitSignature('')).toEqual([]);
    for (const bad of ['a', '(s', 'a{s', 'z']) expect(() => splitSignature(bad), bad).toThrow();
  });
});

describe('the diycloud-web account', () => {
  it('is looked up again while the daemon has none (an account made after the daemon started is served without a restart)', async () => {
    let uid: number | null = null;
    const deps = { store: { userByUid: () => null }, clock: { now: () => new Date(0) } } as unknown as AppDeps;
    const manager = managerObject({ slices: { backend: 'x' } } as unknown as AppDeps, read('org.diycloud.Manager1.xml'), '0');
    const web = { table: new WebSessionTable({ idleMs: 1e9, absoluteMs: 1e9, maxPerUser: 4, maxTotal: 10 }), throttle: new LoginThrottle({ windowMs: 1, perUser: 1, perAddress: 1 }), tokens: { newToken: () => 'tok', keyOf: (t: string) => `k:${t}` }, serviceUid: async () => uid };
    const session = webObject(deps, web, manager, read('org.diycloud.Web1.xml')).methods.find((m) => m.name === 'Session')!;
    const as = { caller: { busName: ':1.9', uid: 990, pid: 1, interactive: false } };
    await expect(session.run(as, ['tok'])).rejects.toMatchObject({ code: 'PermissionDenied' });
    uid = 990;
    await expect(session.run(as, ['tok'])).rejects.toMatchObject({ code: 'SessionExpired' });
  });
});
