// Unit: CreateUser and DeleteUser with in-memory ports: validation first, UIDs never reused, crash recovery.
import { describe, expect, it } from 'vitest';
import { createUser } from '../../../src/app/create-user';
import { deleteUser } from '../../../src/app/delete-user';
import { recoverIntents } from '../../../src/app/recover-intents';
import { testDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
/** Limits as the D-Bus adapter's decoder hands them to the use case: plain values (its wire types are tested in test/unit/adapters/dbus-decode.test.ts). */
const v = (_signature: string, value: unknown) => value;
const rows = (d: ReturnType<typeof testDeps>) => (d.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;

describe('createUser', () => {
  it('allocates a UID, runs useradd and chpasswd, inserts the rows with the limits, and signals', async () => {
    const d = testDeps();
    const uid = await createUser(d, root, 'bob', 'bob@example.org', 'user', { password: 's3cret pass', limits: { cpu: v('d', 2) } });
    expect(uid).toBe(1000);
    expect(d.groupCalls.slice(0, 2)).toEqual(['useradd bob 1000 /bin/bash 0700', 'chpasswd bob 11']);
    expect(d.store.userByName('bob')).toMatchObject({ uid: 1000, email: 'bob@example.org', role: 'user', overrides: { cpu: 2 } });
    expect(d.events.emitted).toContain('UserAdded bob 1000');
    expect(d.admin.intents()).toEqual([]);
  });
  it.each([
    ['a malformed name', ['Bob', '', 'user', {}], 'InvalidArgument'],
    ['a reserved name', ['root', '', 'user', {}], 'NameReserved'],
    ['a bad e-mail', ['bob', 'bob@', 'user', {}], 'InvalidArgument'],
    ['an unknown role', ['bob', '', 'wizard', {}], 'InvalidArgument'],
    ['a password with a newline', ['bob', '', 'user', { password: 'a\nb' }], 'InvalidArgument'],
    ['a password over 512 bytes', ['bob', '', 'user', { password: 'x'.repeat(513) }], 'InvalidArgument'],
    ['a shell not in the list', ['bob', '', 'user', { shell: '/bin/evil' }], 'InvalidArgument'],
    ['limits below the floor', ['bob', '', 'user', { limits: { memory: v('s', '1M') } }], 'LimitOutOfRange'],
    ['limits with an unknown key', ['bob', '', 'user', { limits: { colour: v('s', 'red') } }], 'InvalidArgument'],
  ] as const)('%s: a typed error, nothing changed', async (_l, args, code) => {
    const d = testDeps();
    await expect(createUser(d, root, ...(args as unknown as [string, string, string, object]))).rejects.toMatchObject({ code });
    expect(d.groupCalls).toEqual([]);
    expect(rows(d)).toBe(0);
  });
  it('a name NSS already has is UserExists (or NameReserved for system accounts)', async () => {
    const d = testDeps();
    d.nss.set('ldapbob', 5000);
    d.nss.set('svc', 100);
    await expect(createUser(d, root, 'ldapbob', '', 'user', {})).rejects.toMatchObject({ code: 'UserExists' });
    await expect(createUser(d, root, 'svc', '', 'user', {})).rejects.toMatchObject({ code: 'NameReserved' });
  });
  it('never reuses the UID of a deleted user, and skips UIDs NSS already has', async () => {
    const d = testDeps();
    d.nss.set('other', 1001);
    expect(await createUser(d, root, 'ann', '', 'user', {})).toBe(1000);
    await deleteUser(d, root, 'ann', {});
    expect(await createUser(d, root, 'ben', '', 'user', {})).toBe(1002);
  });
  it('concurrent creations of different names all succeed, with distinct UIDs (allocation is atomic)', async () => {
    const d = testDeps();
    // NSS answers slowly, as getent does: before the fix every creation picked the same UID meanwhile.
    const byUid = d.accounts.byUid;
    (d.accounts as { byUid: typeof byUid }).byUid = async (uid) => {
      await new Promise((r) => setTimeout(r, 5));
      return byUid(uid);
    };
    d.nss.set('taken', 1003);
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => createUser(d, root, `pc${i}`, '', 'user', {})));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const uids = results.map((r) => (r as PromiseFulfilledResult<number>).value);
    expect(new Set(uids).size).toBe(50);
    expect(uids).not.toContain(1003);
    expect(rows(d)).toBe(50);
    expect(d.admin.intents()).toEqual([]);
  });
  it.each(['diycloud-admin', 'diycloud-operator', 'diycloud-anything', 'diycloud'])('the role-group name %s is NameReserved', async (name) => {
    const d = testDeps();
    await expect(createUser(d, root, name, '', 'user', {})).rejects.toMatchObject({ code: 'NameReserved' });
    expect(d.groupCalls).toEqual([]);
  });
  it("a name equal to an existing group, or to a role's Unix group, is NameReserved", async () => {
    const d = testDeps();
    d.groups.add('staff');
    await expect(createUser(d, root, 'staff', '', 'user', {})).rejects.toMatchObject({ code: 'NameReserved' });
    d.db.prepare("UPDATE roles SET unix_group = 'labgpu' WHERE name = 'operator'").run();
    await expect(createUser(d, root, 'labgpu', '', 'user', {})).rejects.toMatchObject({ code: 'NameReserved' });
    expect(d.groupCalls).toEqual([]);
    expect(rows(d)).toBe(0);
  });
  it('concurrent creations of one name produce exactly one user', async () => {
    const d = testDeps();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => createUser(d, root, 'bob', '', 'user', {})));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === 'UserExists')).toBe(true);
    expect(d.groupCalls.filter((c) => c.startsWith('useradd'))).toHaveLength(1);
    expect(rows(d)).toBe(1);
  });
  it('a chpasswd failure undoes the account at once', async () => {
    const d = testDeps();
    d.failNext.password = 'chpasswd broke';
    await expect(createUser(d, root, 'bob', '', 'user', { password: 'pw' })).rejects.toThrow('chpasswd broke');
    expect(d.groupCalls).toEqual(['useradd bob 1000 /bin/bash 0700', 'userdel bob --remove']);
    expect(d.nss.has('bob')).toBe(false);
    expect(rows(d)).toBe(0);
    expect(d.admin.intents()).toEqual([]);
  });
});

describe('crash recovery', () => {
  it('an interrupted creation (account made, rows not) is undone; its UID stays used', async () => {
    const d = testDeps();
    expect(d.admin.beginCreateIntent('bob', { min: 1000, max: 1999 }, 'now')).toMatchObject({ uid: 1000 });
    d.nss.set('bob', 1000); // useradd ran, then the daemon was killed
    expect(await recoverIntents(d)).toBe(1);
    expect(d.nss.has('bob')).toBe(false);
    expect(d.admin.intents()).toEqual([]);
    expect(await createUser(d, root, 'bob', '', 'user', {})).toBe(1001);
  });
  it('never deletes an account that is not the one the intent created (other uid)', async () => {
    const d = testDeps();
    d.admin.beginCreateIntent('bob', { min: 1000, max: 1999 }, 'now');
    d.nss.set('bob', 4242);
    await recoverIntents(d);
    expect(d.nss.get('bob')).toBe(4242);
  });
  it('an interrupted deletion is finished', async () => {
    const d = testDeps();
    await createUser(d, root, 'bob', '', 'user', {});
    d.admin.beginDeleteIntent('bob', 1000, { removeHome: true }, 'now'); // killed before userdel
    await recoverIntents(d);
    expect(d.nss.has('bob')).toBe(false);
    expect(d.store.userByName('bob')).toBeNull();
  });
});

describe('deleteUser', () => {
  it('refuses a user with sessions unless forced, then ends them, deletes, keeps the audit log', async () => {
    const d = testDeps();
    await createUser(d, root, 'bob', '', 'user', {});
    d.liveSessions.set(1000, 2);
    await expect(deleteUser(d, root, 'bob', {})).rejects.toMatchObject({ code: 'Busy' });
    expect(d.store.userByName('bob')).not.toBeNull();
    await deleteUser(d, root, 'bob', { force: true, remove_home: true });
    expect(d.groupCalls.slice(-2)).toEqual(['terminate 1000', 'userdel bob --remove']);
    expect(d.store.userByName('bob')).toBeNull();
    expect(d.events.emitted).toContain('UserRemoved bob 1000');
    expect((d.db.prepare("SELECT count(*) AS n FROM audit_log WHERE target = 'bob'").get() as { n: number }).n).toBeGreaterThanOrEqual(2);
  });
  it("waits for an enforcement already in the UID's queue, so nothing puts the quota back after it is removed", async () => {
    const d = testDeps(undefined, { quota: true });
    await createUser(d, root, 'cat', '', 'user', { disk: '1G' });
    const q = d.quota!;
    let release!: () => void;
    // An enforcement of cat's that started before the deletion and applies her quota when it ends (a late login, a Reconcile batch).
    const late = d.queue.run(1000, async () => {
      await new Promise<void>((r) => (release = r));
      await q.apply({ uid: 1000, name: 'cat', home: null }, { diskSoftBytes: 900, diskHardBytes: 1000 });
    });
    const deleting = deleteUser(d, root, 'cat', {});
    await new Promise((r) => setTimeout(r, 20));
    expect(d.store.userByName('cat')).not.toBeNull(); // still waiting for the queue
    release();
    await Promise.all([late, deleting]);
    expect(q.users.get(1000)).toMatchObject({ softBytes: 0, hardBytes: 0 });
    expect(d.store.userByName('cat')).toBeNull();
  });
  it('an unmanaged name is NoSuchUser; bad options are InvalidArgument', async () => {
    const d = testDeps();
    await expect(deleteUser(d, root, 'ghost', {})).rejects.toMatchObject({ code: 'NoSuchUser' });
    await expect(deleteUser(d, root, 'ghost', { force: 'yes' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('setPassword', () => {
  it('root sets any managed password without the old one; a user must prove the old one; others need manage-users', async () => {
    const { setPassword } = await import('../../../src/app/set-password');
    const d = testDeps();
    await createUser(d, root, 'bob', '', 'user', {});
    await setPassword(d, root, 'bob', 'new one', '');
    const bob = { busName: ':1.9', uid: 1000, pid: 9, interactive: false };
    await expect(setPassword(d, bob, 'bob', 'mine', 'wrong')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(setPassword(d, bob, 'bob', 'mine', '')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await setPassword(d, bob, 'bob', 'mine', 'bob-old');
    await expect(setPassword(d, { ...bob, uid: 1001 }, 'bob', 'theirs', '')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(setPassword(d, root, 'bob', 'a\nb', '')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(setPassword(d, root, 'ghost', 'x', '')).rejects.toMatchObject({ code: 'NoSuchUser' });
    expect(d.groupCalls.filter((c) => c.startsWith('chpasswd'))).toEqual(['chpasswd bob 7', 'chpasswd bob 4']);
    expect(JSON.stringify(d.db.prepare('SELECT * FROM audit_log').all())).not.toMatch(/new one|mine|bob-old/);
  });
});
