// Unit: QueryUsers' selection (SQL for column sorts and filters, the lean listing otherwise) gives the
// same totals and pages, in the same order, as core selectPage over every record (the reference).
import { describe, expect, it } from 'vitest';
import { grantsAny } from '../../../src/core/gpu-grant';
import { parseUserQuery, selectPage } from '../../../src/core/user-query';
import { decider, queryUsers } from '../../../src/app/query-users';
import { diskUsageOf, readDiskUsage } from '../../../src/app/disk-usage';
import { decisionFor } from '../../../src/app/enforce-allocation';
import { DecidedOrderCache } from '../../../src/app/decided-order-cache';
import { addUser, testDeps, type TestDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };

function setup(): TestDeps {
  const d = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n', { quota: true });
  const roles = ['user', 'operator', 'staff', 'admin'];
  for (let i = 0; i < 40; i++) {
    // Names out of uid order, shared roles and memory limits (ties), some disabled.
    const name = `${'zyxwvutsrq'[i % 10]}${String(39 - i).padStart(2, '0')}`;
    addUser(d, { name, uid: 1000 + ((i * 7) % 40), active: i % 5 !== 0, memory: i % 3 === 0 ? null : `${1 + (i % 4)}G`, cpu: i % 2 ? 1 : null });
    d.db.prepare('UPDATE users SET role = ?, email = ? WHERE username = ?').run(roles[i % 4], i % 4 === 1 ? `${name.toUpperCase()}@Example.ORG` : null, name);
  }
  d.db.prepare("UPDATE resource_allocations SET gpus = 'all' WHERE user_id IN (SELECT id FROM users WHERE uid % 6 = 0)").run();
  d.db.prepare("UPDATE resource_allocations SET disk_quota = '1G' WHERE user_id IN (SELECT id FROM users WHERE uid % 4 = 0)").run();
  const quota = (d.quotas[0] as unknown as { users: Map<number, unknown> }).users;
  for (let uid = 1000; uid < 1040; uid += 8) quota.set(uid, { softBytes: 0, hardBytes: 2 ** 30, usedBytes: 2 * 2 ** 30 });
  d.grants.set('0 org.diycloud.read-users', 'allowed');
  return d;
}

/** The selection as it was: every record, its facts, core selectPage. */
async function reference(d: TestDeps, raw: Record<string, unknown>): Promise<{ total: number; names: string[] }> {
  const q = parseUserQuery(raw);
  const decide = decider(d);
  const disk = await readDiskUsage(d);
  const { total, page } = selectPage(d.admin.listUsers({ role: q.role ?? undefined, enabled: q.enabled ?? undefined }), (r) => {
    const a = decide(r).allocation;
    return { name: r.username, uid: r.uid, email: r.email, role: r.role, enabled: r.enabled, memoryBytes: a.memoryMaxBytes, hasGpu: grantsAny(a.gpus), overQuota: diskUsageOf(disk, r.uid, a).some((p) => p.overQuota), cpuPercent: 0, memoryUsedBytes: 0 };
  }, q);
  return { total, names: page.map((r) => r.username) };
}

const QUERIES: Record<string, unknown>[] = [];
for (const sort of ['name', 'uid', 'role', 'memory', 'cpuUsage', 'memoryUsage']) {
  for (const order of ['asc', 'desc']) {
    for (const extra of [{}, { role: 'staff' }, { enabled: false }, { search: 'example.org' }, { search: 'Y' }, { search: 'q3', enabled: true }, { hasGpu: true }, { overQuota: false, role: 'user' }, { offset: 7, limit: 9 }, { offset: 38, limit: 5 }, { offset: 100 }]) {
      QUERIES.push({ sort, order, ...extra });
    }
  }
}

describe('queryUsers selection', () => {
  it('matches the reference for every sort, order and filter', async () => {
    const d = setup();
    for (const q of QUERIES) {
      const page = await queryUsers(d, root, q);
      const want = await reference(d, q);
      expect({ q, total: page.total, names: page.users.map((u) => u.name) }).toEqual({ q, ...want });
    }
  });
  it('matches it with a name or e-mail address outside ASCII (the search is then done in JavaScript)', async () => {
    const d = setup();
    // JavaScript lowercases Ö and the Kelvin sign (to k); SQLite's lower() leaves both.
    d.db.prepare("UPDATE users SET email = 'ÖSTEN@\u212Aexample.org' WHERE uid = 1003").run();
    for (const search of ['östen', 'kexample', 'example.org', 'y']) {
      for (const sort of ['name', 'uid', 'role']) {
        const q = { search, sort, order: 'desc', limit: 7 };
        const page = await queryUsers(d, root, q);
        expect({ total: page.total, names: page.users.map((u) => u.name) }).toEqual(await reference(d, q));
      }
    }
    expect((await queryUsers(d, root, { search: 'östen' })).total).toBe(1);
    expect((await queryUsers(d, root, { search: 'kexample' })).total).toBe(1);
  });
  it('decides each user as decisionFor does on its own record, from a record or a lean row', () => {
    const d = setup();
    // Pairs that differ in one part only, with values a careless key would merge: NULL and the text
    // "null", the same text in another column.
    const same = (uid: number, mem: string | null, disk: string | null) => {
      d.db.prepare("UPDATE users SET role = 'user' WHERE uid = ?").run(uid);
      d.db.prepare('UPDATE resource_allocations SET cpu_limit = 1, mem_limit = ?, disk_quota = ?, gpus = NULL, tasks_max = NULL WHERE user_id = (SELECT id FROM users WHERE uid = ?)').run(mem, disk, uid);
    };
    same(1001, 'null', null);
    same(1002, null, null);
    same(1003, '2G', '2G');
    same(1004, '2G', null);
    same(1005, null, '2G');
    const profiles = new Map(d.admin.listRoles().map((r) => [r.name, r.profile]));
    const decide = decider(d);
    const rows = new Map(d.admin.listUserAllocations({ sort: 'uid', desc: false }).map((r) => [r.uid, r]));
    for (const r of d.admin.listUsers({})) {
      const want = decisionFor(d, r.uid, r, profiles.get(r.role) ?? null);
      expect(decide(rows.get(r.uid)!)).toEqual(want);
      expect(decide(r)).toEqual(want);
    }
  });

  it('keeps sort=memory orders between calls, and never serves one after a change that moves it', async () => {
    const d = { ...setup(), decidedOrders: new DecidedOrderCache(64) };
    const memory = QUERIES.filter((q) => q.sort === 'memory');
    const check = async () => {
      for (const q of memory) {
        const page = await queryUsers(d, root, q);
        expect({ q, total: page.total, names: page.users.map((u) => u.name) }).toEqual({ q, ...(await reference(d, q)) });
      }
    };
    await check();
    const kept = d.decidedOrders.size;
    expect(kept).toBeGreaterThan(0);
    await check(); // from the cache: the same pages
    expect(d.decidedOrders.size).toBe(kept);
    // Each change through the store moves the order, and the next call sees it.
    const steps: (() => void)[] = [
      () => d.admin.setUserLimits(1007, { memory: '64G' }),
      () => d.admin.setRoleProfile('staff', { memory: '32G' }),
      () => d.admin.setRole(1011, 'staff'),
      () => d.admin.resetUserLimits(1007),
      () => d.admin.setEnabled(1003, false),
      () => d.admin.setEmail(1009, 'moved@example.org'),
      () => d.admin.setUserLimits(1012, { gpu: 'all' }),
      () => d.admin.deleteUser(1013),
      () => d.admin.addUser({ name: 'aaa-new', uid: 1500, role: 'staff', email: null }, '2026-01-01T00:00:00.000Z'),
    ];
    for (const step of steps) {
      step();
      await check();
    }
  });
});
