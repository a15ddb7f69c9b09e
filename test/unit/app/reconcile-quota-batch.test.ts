// Unit: Reconcile's disk step in batches (enforceDiskBatch): one applyMany per path and batch, per-user failures as before,
// records, no name-service lookups for quota-tools, the fallback without applyMany, and the user's queue held while deciding.
import { describe, expect, it } from 'vitest';
import { reconcile } from '../../../src/app/reconcile';
import { addUser, testDeps, type TestDeps } from '../../fakes/app-deps';
import { MemoryQuota } from '../../fakes/memory-quota';
import type { QuotaBackend } from '../../../src/core/ports';

const G = 1024 ** 3;

function many(n: number, first = 2000): { d: TestDeps; q: MemoryQuota; lookups: () => number } {
  const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=59999\n', { quota: true });
  d.db.transaction(() => {
    for (let i = 0; i < n; i++) addUser(d, { name: `u${first + i}`, uid: first + i });
  })();
  let lookups = 0;
  const inner = d.accounts;
  Object.assign(d, {
    accounts: {
      ...inner,
      byName: (name: string) => (lookups++, inner.byName(name)),
      byUid: (uid: number) => (lookups++, inner.byUid(uid)),
    },
  });
  return { d, q: d.quota!, lookups: () => lookups };
}

const disk = (d: TestDeps, uid: number, size: string) => d.db.prepare('UPDATE resource_allocations SET disk_quota = ? WHERE user_id = (SELECT id FROM users WHERE uid = ?)').run(size, uid);

describe('Reconcile applies differing quotas in batches', () => {
  it('2,300 users: one applyMany per 1,000 users, every one reported and recorded, no lookup; a second run sets nothing', async () => {
    const { d, q, lookups } = many(2300);
    const r = await reconcile(d);
    expect(q.batches).toEqual([1000, 1000, 300]);
    expect(r.quotas).toHaveLength(2300);
    expect(r.quotas[0]).toEqual({ uid: 2000, user: 'u2000', path: '/home' });
    expect(r.errors).toEqual([]);
    expect(q.users.get(4299)?.hardBytes).toBe(5 * G);
    expect(d.store.appliedDisk(4299, '/home')).toMatchObject({ diskHardBytes: 5 * G });
    expect(lookups()).toBe(0); // quota-tools-like backends (needsHome false) need no NSS per user
    const again = await reconcile(d);
    expect(again.quotas).toEqual([]);
    expect(q.batches).toEqual([1000, 1000, 300]);
  });

  it('only the quotas that differ go in the batch, with the allocation as it is now', async () => {
    const { d, q } = many(5);
    await reconcile(d);
    disk(d, 2001, '2G');
    disk(d, 2003, '3G');
    const r = await reconcile(d);
    expect(q.batches).toEqual([5, 2]);
    expect(r.quotas.map((x) => x.uid)).toEqual([2001, 2003]);
    expect(q.users.get(2003)?.hardBytes).toBe(3 * G);
    expect(d.store.appliedDisk(2001, '/home')).toMatchObject({ diskHardBytes: 2 * G });
  });

  it('an entry the tool refuses is that user\'s error, as before; the others are set and recorded', async () => {
    const { d, q } = many(4);
    q.failUids.add(2002);
    const r = await reconcile(d);
    expect(r.errors).toEqual([{ uid: 2002, error: '/home: injected setquota failure for uid 2002' }]);
    expect(r.quotas.map((x) => x.uid)).toEqual([2000, 2001, 2003]);
    expect(d.store.appliedDisk(2002, '/home')).toBeNull();
    expect(d.store.appliedDisk(2003, '/home')).not.toBeNull();
    expect(d.logs).toContain('warn: uid 2002: disk quota on /home not applied: injected setquota failure for uid 2002');
    q.failUids.clear();
    expect((await reconcile(d)).quotas.map((x) => x.uid)).toEqual([2002]);
  });

  it('a backend without applyMany gets one apply per user, with the same report', async () => {
    const { d, q } = many(3);
    q.failUids.add(2001);
    const plain: QuotaBackend = { path: q.path, backend: q.backend, softLimits: true, status: () => q.status(), apply: (o, s) => q.apply(o, s), remove: (o) => q.remove(o), usage: () => q.usage(), wantsSubvolumeHome: async () => false };
    const r = await reconcile({ ...d, quotas: [plain] });
    expect(q.batches).toEqual([]);
    expect(r.quotas.map((x) => x.uid)).toEqual([2000, 2002]);
    expect(r.errors).toEqual([{ uid: 2001, error: '/home: injected setquota failure for uid 2001' }]);
  });

  it('a backend that reads homes gets each owner\'s home from NSS', async () => {
    const { d, q, lookups } = many(3);
    d.nss.set('u2000', 2000);
    d.nss.set('u2002', 2002);
    const seen: (string | null)[] = [];
    const homes: QuotaBackend = { path: q.path, backend: 'btrfs-like', softLimits: true, needsHome: true, status: () => q.status(), apply: async (o, s) => (seen.push(o.home), q.apply(o, s)), remove: (o) => q.remove(o), usage: () => q.usage(), wantsSubvolumeHome: async () => false };
    const r = await reconcile({ ...d, quotas: [homes] });
    expect(lookups()).toBe(3);
    // u2001 is in the database but not in NSS: its owner has no home, and the backend decides (btrfs refuses it), as one by one
    expect(seen).toEqual(expect.arrayContaining(['/home/u2000', '/home/u2002', null]));
    expect(r.quotas.map((x) => x.uid)).toEqual([2000, 2001, 2002]);
    expect(r.errors).toEqual([]);
  });

  it('a live directory user with no database row: looked up by UID, and an error when NSS has no name', async () => {
    const { d } = many(0);
    d.slices.addSlice(1500);
    const r = await reconcile(d);
    expect(r.errors).toEqual([{ uid: 1500, error: '/home: uid 1500 has no account in the name service: no quota can be set' }]);
    d.nss.set('ldapuser', 1500);
    expect((await reconcile(d)).quotas).toEqual([{ uid: 1500, user: null, path: '/home' }]);
  });

  it('a path whose quotas are off is skipped without a batch or an error', async () => {
    const { d, q } = many(3);
    q.state = 'off';
    const r = await reconcile(d);
    expect(r.errors).toEqual([]);
    expect(r.quotas).toEqual([]);
    expect(q.batches).toEqual([]);
  });

  it('waits for work already queued on a user and applies what that work decided (an admin change is not undone)', async () => {
    const { d, q } = many(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const admin = d.queue.run(2001, async () => {
      await gate;
      disk(d, 2001, '7G');
    });
    let done = false;
    const run = reconcile(d).then((r) => ((done = true), r));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(q.batches).toEqual([]);
    release();
    await admin;
    const r = await run;
    expect(r.quotas.map((x) => x.uid)).toEqual([2000, 2001]);
    expect(q.users.get(2001)?.hardBytes).toBe(7 * G);
    expect(d.queue.size).toBe(0);
  });

  it('reads the role profile once all of a batch\'s queues are held: a profile change queued before it wins', async () => {
    const { d, q } = many(3);
    await reconcile(d);
    const role = d.store.userByUid(2000)!.role;
    d.admin.setRoleProfile(role, { disk: '2G' }); // every member's quota now differs
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const admin = d.queue.run(2002, async () => {
      await gate;
      d.admin.setRoleProfile(role, { disk: '3G' });
    });
    const run = reconcile(d);
    await new Promise((r) => setImmediate(r));
    release();
    await admin;
    expect((await run).quotas.map((x) => x.uid)).toEqual([2000, 2001, 2002]);
    expect([2000, 2001, 2002].map((u) => q.users.get(u)?.hardBytes)).toEqual([3 * G, 3 * G, 3 * G]);
  });
});
