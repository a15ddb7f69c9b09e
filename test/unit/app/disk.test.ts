// Unit: disk quotas through the use cases: when they are applied, what is fatal, over-quota warnings, removal, bulk reconcile.
import { describe, expect, it } from 'vitest';
import { createUser } from '../../../src/app/create-user';
import { deleteUser } from '../../../src/app/delete-user';
import { openSession } from '../../../src/app/login';
import { resetLimits, setLimits, setProfile } from '../../../src/app/manage-limits';
import { setRole } from '../../../src/app/manage-users';
import { getUser } from '../../../src/app/get-user';
import { reconcile } from '../../../src/app/reconcile';
import { addUser, testDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
const M = 1024 ** 2;
const G = 1024 ** 3;
const session = (user: string) => ({ user, service: 'sshd', tty: 'ssh', rhost: '' });

function setup() {
  const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n', { quota: true });
  addUser(d, { name: 'alice', uid: 1000 });
  d.nss.set('alice', 1000);
  return { d, q: d.quota! };
}

describe('disk quotas', () => {
  it('CreateUser sets the quota before the first login (soft = 90 % of hard)', async () => {
    const { d, q } = setup();
    const uid = await createUser(d, root, 'bob', '', 'user', { limits: { disk: '1G' } });
    expect(q.users.get(uid)).toEqual({ softBytes: Math.floor(0.9 * G / 1024) * 1024, hardBytes: G, usedBytes: 0 });
    expect(d.store.appliedDisk(uid, '/home')).toMatchObject({ diskHardBytes: G });
  });

  it('SetLimits applies at once; ResetLimits goes back to the default; a login with the recorded quota calls no tool', async () => {
    const { d, q } = setup();
    expect(await setLimits(d, root, 'alice', { disk: '2G' })).toEqual([]);
    expect(q.users.get(1000)?.hardBytes).toBe(2 * G);
    await resetLimits(d, root, 'alice');
    expect(q.users.get(1000)?.hardBytes).toBe(5 * G);
    const before = q.ops.length;
    await openSession(d, session('alice'), null);
    expect(q.ops.length).toBe(before);
  });

  it('lowering below usage is allowed, deletes nothing, and the reply and the audit line say the user is over quota', async () => {
    const { d, q } = setup();
    await setLimits(d, root, 'alice', { disk: '2G' });
    q.use(1000, 1536 * M);
    const warnings = await setLimits(d, root, 'alice', { disk: '1G' });
    expect(warnings).toEqual([expect.stringMatching(/^alice is over quota on \/home: uses 1536M of 1G; nothing was deleted/)]);
    expect(q.users.get(1000)).toMatchObject({ hardBytes: G, usedBytes: 1536 * M });
    expect(d.admin.auditLog({ limit: 1, target: 'alice' })[0]).toMatchObject({ action: 'SetLimits', result: 'ok', detail: expect.stringContaining('over quota') });
    expect((await getUser(d, 'alice')).disk).toEqual([{ path: '/home', state: 'enforced', usedBytes: 1536 * M, softBytes: Math.floor(0.9 * G / 1024) * 1024, hardBytes: G, overQuota: true }]);
  });

  it('bad disk input is a typed error and changes nothing: below the floor, a hostile size string', async () => {
    const { d, q } = setup();
    await expect(setLimits(d, root, 'alice', { disk: '1M' })).rejects.toMatchObject({ code: 'LimitOutOfRange', field: 'disk' });
    await expect(setLimits(d, root, 'alice', { disk: '1G; rm -rf /' })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'disk' });
    await expect(setLimits(d, root, 'alice', { disk: 2 ** 60 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(d.store.userByName('alice')?.overrides.disk).toBeNull();
    expect(q.ops).toEqual([]);
    await expect(setLimits(d, root, 'alice', { disk: 0 })).resolves.toEqual([]); // 0: no quota, always allowed
    expect(q.users.get(1000)?.hardBytes).toBe(0);
  });

  it('SetRole to a role whose profile leaves the user over quota says so in its reply', async () => {
    const { d, q } = setup();
    await setProfile(d, root, 'small', { disk: '1G' });
    q.use(1000, 2 * G);
    expect(await setRole(d, root, 'alice', 'small')).toEqual([expect.stringMatching(/^alice is over quota on \/home/)]);
  });

  it('a path that cannot enforce: SetLimits --disk is QuotaUnsupported and nothing changes; other changes go on', async () => {
    const { d, q } = setup();
    await setLimits(d, root, 'alice', { disk: '2G' });
    q.state = 'off';
    await expect(setLimits(d, root, 'alice', { disk: '3G' })).rejects.toMatchObject({ code: 'QuotaUnsupported' });
    expect(d.store.userByName('alice')?.overrides.disk).toBe('2G');
    await expect(setProfile(d, root, 'user', { disk: '3G' })).rejects.toMatchObject({ code: 'QuotaUnsupported' });
    expect(d.admin.role('user')?.profile.disk).toBeNull();
    await expect(setLimits(d, root, 'alice', { cpu: 2 })).resolves.toEqual([]);
    // CreateUser with an explicit disk limit is refused before any account exists.
    await expect(createUser(d, root, 'bob', '', 'user', { limits: { disk: '1G' } })).rejects.toMatchObject({ code: 'QuotaUnsupported' });
    expect(d.nss.has('bob')).toBe(false);
    expect(d.store.userByName('bob')).toBeNull();
  });

  it('a path without quotas is skipped quietly at login and in reconcile (GetUser shows its state)', async () => {
    const { d, q } = setup();
    q.state = 'off';
    const r = await openSession(d, session('alice'), null);
    expect(r?.disk).toEqual([{ path: '/home', result: 'skipped', warning: null, error: null }]);
    expect((await reconcile(d)).errors).toEqual([]);
    expect((await getUser(d, 'alice')).disk[0]).toMatchObject({ state: 'off', usedBytes: null });
  });

  it('a failing quota tool at login is best effort: the session opens, the failure is logged', async () => {
    const { d, q } = setup();
    q.failApply = true;
    const r = await openSession(d, session('alice'), null);
    expect(r?.disk).toEqual([expect.objectContaining({ path: '/home', result: 'failed' })]);
    expect(d.logs.some((l) => /disk quota on \/home not applied: injected setquota failure/.test(l))).toBe(true);
  });

  it('a directory user in the range gets the default quota at first login', async () => {
    const { d, q } = setup();
    d.nss.set('ldapuser', 1500);
    await openSession(d, session('ldapuser'), null);
    expect(q.users.get(1500)?.hardBytes).toBe(5 * G);
  });

  it('DeleteUser removes the quota and the record', async () => {
    const { d, q } = setup();
    await setLimits(d, root, 'alice', { disk: '2G' });
    await deleteUser(d, root, 'alice', {});
    expect(q.users.get(1000)?.hardBytes).toBe(0);
    expect(q.ops.filter((o) => o === 'remove 1000').length).toBeGreaterThan(0);
    expect(d.store.appliedDisk(1000, '/home')).toBeNull();
  });

  it('Reconcile sets only the quotas the filesystem does not hold (one bulk read), and none twice', async () => {
    const { d, q } = setup();
    addUser(d, { name: 'carol', uid: 1002 });
    d.nss.set('carol', 1002);
    const first = await reconcile(d);
    expect(first.quotas.map((x) => x.uid)).toEqual([1000, 1002]);
    expect(q.usageReads).toBe(1); // one bulk read for the whole run, none per applied quota
    q.users.set(1002, { softBytes: 0, hardBytes: 1, usedBytes: 0 }); // changed by hand
    const second = await reconcile(d);
    expect(second.quotas).toEqual([{ uid: 1002, user: 'carol', path: '/home' }]);
  });
});
