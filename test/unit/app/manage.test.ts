// Unit: the management use cases: authorization, validation before change, groups, signals and audit.
import { describe, expect, it } from 'vitest';
import { adoptUser, listUsers, readUser, setEnabled, setRole } from '../../../src/app/manage-users';
import { listProfiles, resetLimits, setLimits, setProfile, auditLog } from '../../../src/app/manage-limits';
import { addUser, testDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
const alice = { busName: ':1.2', uid: 1000, pid: 2, interactive: false };
const op = { busName: ':1.3', uid: 1001, pid: 3, interactive: false };
/** Limits as the D-Bus adapter's decoder hands them to the use case: plain values (its wire types are tested in test/unit/adapters/dbus-decode.test.ts). */
const v = (_signature: string, value: unknown) => value;
const count = (d: ReturnType<typeof testDeps>, sql: string) => (d.db.prepare(sql).get() as { n: number }).n;

function setup() {
  const d = testDeps();
  addUser(d, { name: 'alice', uid: 1000 });
  addUser(d, { name: 'olga', uid: 1001 });
  d.grants.set('1001 org.diycloud.manage-limits', 'allowed');
  d.grants.set('1001 org.diycloud.read-users', 'allowed');
  return d;
}

describe('authorization', () => {
  it('root passes without asking; others need their action', async () => {
    const d = setup();
    await setLimits(d, root, 'alice', { cpu: v('d', 2) });
    await setLimits(d, op, 'alice', { cpu: v('d', 3) });
    await expect(setLimits(d, alice, 'alice', { cpu: v('d', 8) })).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(setRole(d, op, 'alice', 'admin')).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(d.store.userByName('alice')?.overrides.cpu).toBe(3);
    expect(d.logs).toContain('warn: refused: SetRole alice by uid 1001 (pid 3): not authorized for org.diycloud.manage-users');
    expect((await auditLog(d, root, { user: 'alice' })).map((r) => r.action)).toEqual(['SetLimits', 'SetLimits']);
  });
  it('a challenge is InteractiveAuthorizationRequired unless the caller allowed interaction', async () => {
    const d = setup();
    d.grants.set('1000 org.diycloud.manage-limits', 'challenge');
    await expect(setLimits(d, alice, 'alice', { cpu: v('d', 2) })).rejects.toMatchObject({ code: 'InteractiveAuthorizationRequired' });
    await expect(setLimits(d, { ...alice, interactive: true }, 'alice', { cpu: v('d', 2) })).rejects.toMatchObject({ code: 'PermissionDenied' });
  });
  it('an error from polkit is a denial', async () => {
    const d = setup();
    (d as { authorizer: unknown }).authorizer = { check: async () => Promise.reject(new Error('polkit gone')) };
    await expect(listUsers(d, alice, {})).rejects.toMatchObject({ code: 'PermissionDenied' });
  });
  it('anyone reads their own record; others need read-users', async () => {
    const d = setup();
    expect((await readUser(d, alice, 'alice')).uid).toBe(1000);
    await expect(readUser(d, alice, 'olga')).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect((await readUser(d, op, 'alice')).name).toBe('alice');
  });
});

describe('limits and profiles', () => {
  it('bad input is a typed error and changes nothing', async () => {
    const d = setup();
    await expect(setLimits(d, root, 'alice', { memory: v('s', '1K') })).rejects.toMatchObject({ code: 'LimitOutOfRange' });
    await expect(setLimits(d, root, 'alice', { color: v('s', 'red') })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(setLimits(d, root, 'nobody-here', { cpu: v('d', 1) })).rejects.toMatchObject({ code: 'NoSuchUser' });
    expect(d.store.userByName('alice')?.overrides).toEqual({ cpu: null, memory: null, disk: null, gpu: null, tasks: null });
  });
  it('applies to a live slice at once and signals the change; reset returns to the role profile', async () => {
    const d = setup();
    d.slices.addSlice(1000);
    await setProfile(d, root, 'user', { memory: v('s', '4G') });
    expect(d.slices.slices.get(1000)?.settings.memoryMaxBytes).toBe(4 * 1024 ** 3);
    await setLimits(d, root, 'alice', { memory: v('s', '1G'), cpu: v('d', 0.5) });
    expect(d.slices.slices.get(1000)?.settings).toMatchObject({ memoryMaxBytes: 1024 ** 3, cpuQuotaPerSecUsec: 500_000 });
    await resetLimits(d, root, 'alice');
    expect(d.slices.slices.get(1000)?.settings).toMatchObject({ memoryMaxBytes: 4 * 1024 ** 3, cpuQuotaPerSecUsec: 1_000_000 });
    expect(d.events.emitted).toContain('UserChanged alice 1000');
  });
  it('GPU grants: indices are stored and shown; GPUs the host lacks, or any GPU on a host without GPUs, are InvalidArgument and change nothing', async () => {
    const d = setup(); // the fake host has GPUs 0 and 1
    await setLimits(d, root, 'alice', { gpu: v('s', '1') });
    expect(d.store.userByName('alice')?.overrides.gpu).toBe('1');
    expect((await readUser(d, root, 'alice')).allocation.gpu).toBe('1');
    await expect(setLimits(d, root, 'alice', { gpu: v('s', '0,3'), cpu: v('d', 2) })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'gpu', message: expect.stringMatching(/GPU 3 does not exist on this host \(present: 0, 1\)/) });
    await expect(setProfile(d, root, 'user', { gpu: v('s', '2') })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'gpu' });
    expect(d.store.userByName('alice')?.overrides).toMatchObject({ gpu: '1', cpu: null });
    expect(d.admin.role('user')?.profile.gpu).toBeNull();
    const bare = testDeps(undefined, { gpuIndices: [] });
    addUser(bare, { name: 'alice', uid: 1000 });
    await expect(setLimits(bare, root, 'alice', { gpu: v('s', 'all') })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/this host has no GPUs/) });
    await setLimits(bare, root, 'alice', { gpu: v('s', 'none') });
    expect(bare.store.userByName('alice')?.overrides.gpu).toBe('none');
  });
  it('SetLimits gpuRevoke: "report" (default) names processes holding a revoked GPU, "kill" ends them; a bad mode is InvalidArgument and changes nothing', async () => {
    const d = setup();
    d.slices.addSlice(1000);
    await setLimits(d, root, 'alice', { gpu: v('s', 'all') });
    d.gpuAccess.open.set(4242, { uid: 1000, paths: ['/dev/nvidia1'] });
    d.gpuAccess.open.set(4343, { uid: 1000, paths: ['/dev/nvidia0'] }); // still granted below: left alone
    await expect(setLimits(d, root, 'alice', { gpu: v('s', '0'), gpuRevoke: v('s', 'later') })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'gpuRevoke' });
    expect(d.store.userByName('alice')?.overrides.gpu).toBe('all');
    const reported = await setLimits(d, root, 'alice', { gpu: v('s', '0') });
    expect(reported.join('\n')).toMatch(/processes 4242 still hold GPU nodes no longer granted/);
    expect(d.gpuAccess.killed).toEqual([]);
    await setLimits(d, root, 'alice', { gpu: v('s', 'all') });
    const killed = await setLimits(d, root, 'alice', { gpu: v('s', 'none'), gpuRevoke: v('s', 'kill') });
    expect(killed.join('\n')).toMatch(/ended processes 4242, 4343/);
    expect(d.gpuAccess.killed).toEqual([4242, 4343]);
    await expect(setProfile(d, root, 'user', { gpuRevoke: v('s', 'kill'), cpu: v('d', 1) })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/unknown key "gpuRevoke"/) });
  });
  it('GPU groups follow the grant on SetLimits and SetProfile ([GPU] Groups); only memberships diycloud added are taken away; a missing group is a warning', async () => {
    const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n[GPU]\nGroups=video render\n');
    addUser(d, { name: 'alice', uid: 1000 });
    addUser(d, { name: 'bob', uid: 1002 });
    d.unixGroups.set('video', ['bob']); // bob is in video by the admin's hand
    d.unixGroups.set('render', []);
    expect(await setLimits(d, root, 'alice', { gpu: v('s', '0') })).toEqual([]);
    expect(d.groupCalls).toEqual(['alice +render', 'alice +video']);
    d.unixGroups.set('video', ['bob', 'alice']);
    d.unixGroups.set('render', ['alice']);
    d.groupCalls.length = 0;
    await setLimits(d, root, 'bob', { gpu: v('s', 'all') });
    expect(d.groupCalls).toEqual(['bob +render']); // video: already his
    d.unixGroups.set('render', ['alice', 'bob']);
    d.groupCalls.length = 0;
    await setProfile(d, root, 'user', { gpu: v('s', 'none') }); // neither has an own value... alice and bob do: nothing changes for them
    expect(d.groupCalls).toEqual([]);
    await resetLimits(d, root, 'bob'); // bob falls back to the profile's none: leaves render (ours), keeps video (the admin's)
    expect(d.groupCalls).toEqual(['bob -render']);
    d.unixGroups.delete('render');
    const w = await setLimits(d, root, 'alice', { gpu: v('s', 'none') });
    expect(w.join('\n')).toMatch(/GPU groups not synchronized: GPU group "render" does not exist/);
  });
  it('a new role is created by SetProfile and listed with its effective allocation', async () => {
    const d = setup();
    await setProfile(d, root, 'gpu', { gpu: v('b', true), cpu: v('d', 2) });
    const gpu = (await listProfiles(d, root)).find((p) => p.role === 'gpu');
    expect(gpu).toMatchObject({ builtin: false, members: 0, allocation: { cpu: 2, gpu: 'all', memory: 2 * 1024 ** 3 } });
  });
});

describe('users', () => {
  it('adopts an NSS user with a role and keeps the role groups in step', async () => {
    const d = setup();
    d.nss.set('bob', 1500);
    expect(await adoptUser(d, root, 'bob', 'operator')).toBe(1500);
    expect(d.groupCalls).toEqual(['bob -diycloud-admin', 'bob +diycloud-operator']);
    expect(d.events.emitted).toContain('UserAdded bob 1500');
    await expect(adoptUser(d, root, 'bob', 'user')).rejects.toMatchObject({ code: 'UserExists' });
    await setRole(d, root, 'bob', 'admin');
    expect(d.groupCalls.slice(-2)).toEqual(['bob +diycloud-admin', 'bob -diycloud-operator']);
  });
  it('refuses system accounts, unknown names and unknown roles, changing nothing', async () => {
    const d = setup();
    d.nss.set('daemon', 1);
    d.nss.set('carl', 1600);
    await expect(adoptUser(d, root, 'daemon', 'user')).rejects.toMatchObject({ code: 'NameReserved' });
    await expect(adoptUser(d, root, 'ghost', 'user')).rejects.toMatchObject({ code: 'NoSuchUser' });
    await expect(adoptUser(d, root, 'carl', 'wizard')).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(count(d, 'SELECT count(*) AS n FROM users')).toBe(2);
  });
  it('disabling locks and expires the account, can end sessions, and is audited with the caller', async () => {
    const d = setup();
    d.grants.set('1001 org.diycloud.set-enabled', 'allowed');
    await setEnabled(d, op, 'alice', false, { terminate: true });
    expect(d.store.userByName('alice')?.enabled).toBe(false);
    expect(d.groupCalls).toEqual(['alice disable', 'terminate 1000']);
    expect(d.expiries.get('alice')).toEqual({ days: 1 });
    const log = await auditLog(d, root, { user: 'alice' });
    expect(log[0]).toMatchObject({ callerUid: 1001, callerPid: 3, action: 'Disable', target: 'alice', result: 'ok' });
  });
  it('enabling puts back the expiry the disable replaced, even after disabling twice', async () => {
    const d = setup();
    d.expiries.set('alice', { days: 20_800 });
    await setEnabled(d, root, 'alice', false, {});
    await setEnabled(d, root, 'alice', false, {});
    expect(d.expiries.get('alice')).toEqual({ days: 1 });
    await setEnabled(d, root, 'alice', true, {});
    expect(d.expiries.get('alice')).toEqual({ days: 20_800 });
    expect(d.store.userByName('alice')?.enabled).toBe(true);
    expect(d.admin.savedExpiry(d.store.userByName('alice')!.uid)).toBeNull();
  });
  it('a failed shadow change leaves the database as it was', async () => {
    const d = setup();
    (d.accountAdmin as { disable: unknown }).disable = async () => {
      throw Object.assign(new Error('usermod failed'), { code: 'BackendFailed' });
    };
    await expect(setEnabled(d, root, 'alice', false, {})).rejects.toThrow('usermod failed');
    expect(d.store.userByName('alice')?.enabled).toBe(true);
  });
  it('lists users with filters', async () => {
    const d = setup();
    await setRole(d, root, 'olga', 'operator');
    expect((await listUsers(d, root, { role: 'operator' })).map((u) => u.name)).toEqual(['olga']);
    expect((await listUsers(d, root, {})).map((u) => u.name)).toEqual(['alice', 'olga']);
    await expect(listUsers(d, root, { enabled: 'yes' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('serialization', () => {
  it('changes to one user run one after another: a slow role change finishes before a later limit change starts', async () => {
    const d = setup();
    const done: string[] = [];
    const realSet = d.accountAdmin.setMembership;
    (d.accountAdmin as { setMembership: typeof realSet }).setMembership = async (...a) => {
      await new Promise((r) => setTimeout(r, 50)); // a slow gpasswd
      return realSet(...a);
    };
    await Promise.all([
      setRole(d, root, 'alice', 'operator').then(() => done.push('role')),
      setLimits(d, root, 'alice', { cpu: v('d', 3) }).then(() => done.push('limits')),
      setLimits(d, root, 'olga', { cpu: v('d', 2) }).then(() => done.push('other user')),
    ]);
    expect(done).toEqual(['other user', 'role', 'limits']);
  });
});
