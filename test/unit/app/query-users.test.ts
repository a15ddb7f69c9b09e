// Unit: the QueryUsers use case on the in-memory deps: validation before authorization, read-users,
// filters on rows, allocations and disk usage, and cgroup reads for the page only.
import { describe, expect, it } from 'vitest';
import { queryUsers } from '../../../src/app/query-users';
import { listUsers } from '../../../src/app/manage-users';
import { addUser, testDeps, type TestDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
const alice = { busName: ':1.2', uid: 1000, pid: 2, interactive: false };
const op = { busName: ':1.3', uid: 1001, pid: 3, interactive: false };

function setup(): TestDeps {
  const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n', { quota: true });
  addUser(d, { name: 'alice', uid: 1000 });
  addUser(d, { name: 'olga', uid: 1001, memory: '8G' });
  addUser(d, { name: 'bob', uid: 1002, active: false, memory: '1G' });
  d.db.prepare("UPDATE users SET role = 'operator', email = 'Olga@Example.org' WHERE username = 'olga'").run();
  d.db.prepare("UPDATE resource_allocations SET gpus = 'all' WHERE user_id = (SELECT id FROM users WHERE username = 'olga')").run();
  d.db.prepare("UPDATE resource_allocations SET disk_quota = '1G' WHERE user_id = (SELECT id FROM users WHERE username = 'bob')").run();
  d.grants.set('1001 org.diycloud.read-users', 'allowed');
  return d;
}
const names = async (d: TestDeps, q: Record<string, unknown>) => (await queryUsers(d, root, q)).users.map((u) => u.name);

describe('queryUsers', () => {
  it('needs read-users, like ListUsers; a bad query is InvalidArgument before polkit is asked', async () => {
    const d = setup();
    await expect(queryUsers(d, alice, {})).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(listUsers(d, alice, {})).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect((await queryUsers(d, op, {})).total).toBe(3);
    let asked = 0;
    const check = d.authorizer.check;
    (d.authorizer as { check: typeof check }).check = async (...a) => (asked++, check(...a));
    await expect(queryUsers(d, alice, { limit: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'limit' });
    await expect(queryUsers(d, alice, { colour: 'red' })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'colour' });
    expect(asked).toBe(0);
  });
  it('returns total, offset, limit and the same records as ListUsers', async () => {
    const d = setup();
    const page = await queryUsers(d, root, { limit: 2 });
    expect(page).toMatchObject({ total: 3, offset: 0, limit: 2 });
    const all = await listUsers(d, root, {});
    expect(page.users).toEqual(all.filter((u) => ['alice', 'bob'].includes(u.name)));
  });
  it('filters: role, enabled, search, hasGpu, overQuota; sorts by memory', async () => {
    const d = setup();
    (d.quotas[0] as unknown as { users: Map<number, unknown> }).users.set(1002, { softBytes: 0, hardBytes: 2 ** 30, usedBytes: 2 * 2 ** 30 });
    expect(await names(d, { role: 'operator' })).toEqual(['olga']);
    expect(await names(d, { enabled: false })).toEqual(['bob']);
    expect(await names(d, { search: 'example.ORG' })).toEqual(['olga']);
    expect(await names(d, { hasGpu: true })).toEqual(['olga']);
    expect(await names(d, { hasGpu: false })).toEqual(['alice', 'bob']);
    expect(await names(d, { overQuota: true })).toEqual(['bob']);
    expect(await names(d, { overQuota: false })).toEqual(['alice', 'olga']);
    expect(await names(d, { sort: 'memory', order: 'desc' })).toEqual(['olga', 'alice', 'bob']);
  });
  it('reads cgroups only for the page, at 10,000 users', async () => {
    const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=20999\n');
    const ins = d.db.prepare('INSERT INTO users (username, uid) VALUES (?, ?)');
    const alloc = d.db.prepare('INSERT INTO resource_allocations (user_id) VALUES (?)');
    d.db.transaction(() => {
      for (let i = 0; i < 10000; i++) alloc.run(ins.run(`u${String(i).padStart(5, '0')}`, 1000 + i).lastInsertRowid);
    })();
    for (let i = 0; i < 10000; i += 10) d.cgroups.addSlice(1000 + i, 1 << 20);
    let observed = 0;
    const observe = d.cgroups.observe.bind(d.cgroups);
    d.cgroups.observe = async (uid) => (observed++, observe(uid));
    let t = performance.now();
    const page = await queryUsers(d, root, { offset: 100, limit: 50, search: 'u00', sort: 'uid', order: 'desc' });
    const queryMs = performance.now() - t;
    expect(page.total).toBe(1000);
    expect(page.users.map((u) => u.name)[0]).toBe('u00899');
    expect(page.users).toHaveLength(50);
    expect(observed).toBe(5);
    const pageReads = observed;
    t = performance.now();
    const all = await listUsers(d, root, {});
    const listMs = performance.now() - t;
    expect(all).toHaveLength(10000);
    // Reported, never asserted: timings depend on the machine.
    process.stdout.write(`[measure] 10000 users: QueryUsers page of 50 ${queryMs.toFixed(1)} ms (${pageReads} cgroup reads); ListUsers of all ${listMs.toFixed(1)} ms (${observed - pageReads} cgroup reads)\n`);
  });
});
