// Unit: the usage sampler (fake counters, the real SQLite store in memory) and the portal's reads with their authorization.
import { describe, expect, it } from 'vitest';
import { UsageSampler, withUnmeasured } from '../../../src/app/sample-usage';
import { getHostSummary, getLimitEvents, getUsage, getUsageHistory, listSessions } from '../../../src/app/usage-queries';
import { queryUsers } from '../../../src/app/query-users';
import { SqliteUsage } from '../../../src/adapters/store/sqlite-usage';
import type { UsageReading } from '../../../src/core/usage-history';
import { addUser, testDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
const alice = { busName: ':1.2', uid: 1000, pid: 2, interactive: false };
const op = { busName: ':1.3', uid: 1002, pid: 3, interactive: false };
const NOW_MS = Date.parse('2026-11-25T12:00:00Z');

function setup() {
  const base = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n', { quota: true });
  addUser(base, { name: 'alice', uid: 1000, memory: '1G', cpu: 1 });
  addUser(base, { name: 'bob', uid: 1001, memory: '2G', cpu: 2 });
  addUser(base, { name: 'olga', uid: 1002 });
  base.grants.set('1002 org.diycloud.read-users', 'allowed');
  const store = new SqliteUsage(base.db);
  let nowMs = NOW_MS - 3600_000;
  let readings: UsageReading[] = [];
  const sampler = new UsageSampler({ reader: { mode: 'fake', readAll: async () => readings }, store, log: base.log, nowMs: () => nowMs, isManaged: (u) => u >= 1000 && u <= 1999, intervalSec: 10, diskUsage: async () => new Map([[1000, 4096]]), diskEverySec: 60 });
  const d = { ...base, usage: { store, latest: sampler, filesystem: async () => ({ capacityBytes: 100 * 2 ** 30, freeBytes: 2 ** 30 }), sampleIntervalSec: 10 } };
  return { d, store, sampler, set: (r: UsageReading[], ms: number) => ((readings = r), (nowMs = ms)) };
}

describe('usage sampler and reads', () => {
  it('samples CPU from deltas, keeps the latest in memory, writes raw points and 5-minute averages', async () => {
    const { d, sampler, set } = setup();
    const t0 = NOW_MS - 1800_000;
    // alice burns one core, bob half a core; uid 5 is not managed
    for (let i = 0; i <= 40; i++) {
      set([{ uid: 1000, cpuUsageNsec: i * 10e9, memoryBytes: 900 * 2 ** 20, tasks: 3 }, { uid: 1001, cpuUsageNsec: i * 5e9, memoryBytes: 2 ** 20, tasks: 1 }, { uid: 5, cpuUsageNsec: i * 1e9, memoryBytes: 1, tasks: 1 }], t0 + i * 10_000);
      await sampler.tick();
    }
    expect(sampler.latest(1000)).toMatchObject({ cpuPercent: 100, memoryBytes: 900 * 2 ** 20, diskBytes: 4096, tasks: 3 });
    expect(sampler.latest(5)).toBeNull();
    const hour = await getUsageHistory(d, alice, 'alice', 'hour');
    expect(hour).toMatchObject({ user: 'alice', uid: 1000, range: 'hour', stepSec: 10 });
    expect(hour.points).toHaveLength(40); // the first tick is a baseline
    expect(hour.points.every((p) => p.cpuPercent === 100)).toBe(true);
    expect(hour.points[0].t < hour.points[39].t).toBe(true);
    const day = await getUsageHistory(d, root, 'bob', 'day');
    expect(day.stepSec).toBe(300);
    expect(day.points.length).toBeGreaterThan(0);
    expect(day.points[0].cpuPercent).toBe(50);
    // alice's cgroup goes away: she drops out of the latest samples
    set([{ uid: 1001, cpuUsageNsec: 41 * 5e9, memoryBytes: 2 ** 20, tasks: 1 }], t0 + 410_000);
    await sampler.tick();
    const now = await getUsage(d, op, ['alice', 'bob']);
    expect(now.users.alice).toEqual({ cpuPercent: 0, memoryBytes: 0, diskBytes: 4096, tasks: null, live: false, measured: false });
    expect(now.users.bob).toMatchObject({ cpuPercent: 50, live: true, measured: true });
  });
  it('keeps a live cgroup without CPU or memory figures as live and unmeasured: no point, no zeros in the history', async () => {
    const { d, sampler, set } = setup();
    const t0 = NOW_MS - 600_000;
    // bob's cgroup has a CPU counter but no memory one: measured (memory 0); alice's has neither (a host without the controllers)
    for (let i = 0; i <= 3; i++) {
      set([{ uid: 1000, cpuUsageNsec: null, memoryBytes: null, tasks: 4 }, { uid: 1001, cpuUsageNsec: i * 5e9, memoryBytes: null, tasks: null }], t0 + i * 10_000);
      await sampler.tick();
    }
    expect(sampler.latest(1000)).toBeNull();
    expect([...sampler.unmeasured()]).toEqual([1000]);
    expect((await getUsageHistory(d, alice, 'alice', 'hour')).points).toEqual([]);
    const now = await getUsage(d, op, ['alice', 'bob', 'olga']);
    expect(now.users.alice).toEqual({ cpuPercent: null, memoryBytes: null, diskBytes: 4096, tasks: null, live: true, measured: false });
    expect(now.users.bob).toMatchObject({ cpuPercent: 50, memoryBytes: 0, live: true, measured: true });
    expect(now.users.olga).toMatchObject({ live: false, measured: false });
    expect((await getHostSummary(d, op)).users).toEqual({ total: 3, live: 2 });
    // once her cgroup is gone she is no longer live
    set([], t0 + 40_000);
    await sampler.tick();
    expect(sampler.unmeasured().size).toBe(0);
    expect((await getUsage(d, op, ['alice'])).users.alice.live).toBe(false);
  });
  it("refuses another user's history, usage, events and sessions without read-users; one's own is allowed", async () => {
    const { d } = setup();
    await expect(getUsageHistory(d, alice, 'bob', 'hour')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(getUsage(d, alice, ['alice', 'bob'])).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(getLimitEvents(d, alice, {})).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(getLimitEvents(d, alice, { user: 'bob' })).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(listSessions(d, alice, 'bob')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(getHostSummary(d, alice)).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(getUsageHistory(d, alice, 'alice', 'month')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(getLimitEvents(d, op, { limit: 501 })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'limit' });
    expect((await getUsageHistory(d, alice, 'alice', 'week')).points).toEqual([]);
    expect(await listSessions(d, op, 'bob')).toEqual({ sessions: [] });
  });
  it('lists sessions and events newest first', async () => {
    const { d } = setup();
    d.store.openSession({ uid: 1000, username: 'alice', service: 'sshd', tty: 'ssh', rhost: '10.0.0.1' }, '2026-11-25T10:00:00.000Z');
    d.store.openSession({ uid: 1000, username: 'alice', service: 'login', tty: 'tty1', rhost: '' }, '2026-11-25T11:00:00.000Z');
    d.db.prepare("INSERT INTO limit_events (uid, resource, kind, count, at_usec) VALUES (1000, 'memory', 'oom-kill', 2, ?), (1001, 'cpu', 'throttled', 1, ?)").run((NOW_MS - 60_000) * 1000, (NOW_MS - 30_000) * 1000);
    const s = await listSessions(d, alice, 'alice');
    expect(s.sessions.map((x) => x.service)).toEqual(['login', 'sshd']);
    expect(s.sessions[1]).toEqual({ service: 'sshd', tty: 'ssh', rhost: '10.0.0.1', openedAt: '2026-11-25T10:00:00.000Z', closedAt: null });
    expect((await getLimitEvents(d, alice, { user: 'alice' })).events).toEqual([{ at: new Date(NOW_MS - 60_000).toISOString(), user: 'alice', uid: 1000, resource: 'memory', kind: 'oom-kill', count: 2, detail: 'memory oom-kill (2 times)' }]);
    expect((await getLimitEvents(d, op, {})).events.map((e) => e.user)).toEqual(['bob', 'alice']);
    expect((await getLimitEvents(d, op, { limit: 1 })).events).toHaveLength(1);
  });
  it('sums capacity, allocations and use in the host view; names who is near or over; QueryUsers sorts by usage', async () => {
    const { d, sampler, set } = setup();
    d.db.prepare("UPDATE resource_allocations SET gpus = '1' WHERE user_id = (SELECT id FROM users WHERE username = 'bob')").run();
    const t0 = NOW_MS - 20_000;
    const r = (i: number) => [{ uid: 1000, cpuUsageNsec: i * 9.5e9, memoryBytes: 2 ** 30 + 1, tasks: 3 }, { uid: 1001, cpuUsageNsec: i * 2e9, memoryBytes: 2 ** 20, tasks: 1 }];
    set(r(0), t0);
    await sampler.tick();
    set(r(1), t0 + 10_000);
    await sampler.tick();
    const h = await getHostSummary(d, op);
    expect(h.cpu).toMatchObject({ capacityCores: 8, usedPercent: 115, usedCores: 1.15 });
    expect(h.cpu.allocatedCores).toBe(1 + 2 + d.config.defaults.cpuCores);
    expect(h.memory).toMatchObject({ capacityBytes: 64 * 2 ** 30, usedBytes: 2 ** 30 + 1 + 2 ** 20 });
    expect(h.overcommit.cpu).toBeCloseTo(h.cpu.allocatedCores / 8, 3);
    expect(h.disk).toEqual([expect.objectContaining({ path: '/home', capacityBytes: 100 * 2 ** 30 })]);
    expect(h.gpus).toEqual([{ index: 0, name: 'Test GPU', holders: [] }, { index: 1, name: 'Test GPU', holders: ['bob'] }]);
    expect(h.over).toEqual([
      { user: 'alice', resource: 'cpu', usage: 0.95, limit: 1, level: 'near' },
      { user: 'alice', resource: 'memory', usage: 2 ** 30 + 1, limit: 2 ** 30, level: 'over' },
    ]);
    expect((await queryUsers(d, root, { sort: 'cpuUsage', order: 'desc' })).users.map((u) => u.name)).toEqual(['alice', 'bob', 'olga']);
    expect((await queryUsers(d, root, { sort: 'memoryUsage' })).users.map((u) => u.name)).toEqual(['olga', 'bob', 'alice']);
  });
  it('withUnmeasured adds a figureless reading for each live cgroup the files lack, and nothing when the listing fails', async () => {
    const files = { mode: 'cgroupfs files (v1)', readAll: async () => [{ uid: 1001, cpuUsageNsec: 5, memoryBytes: 6, tasks: 1 }] };
    expect(await withUnmeasured(files, async () => [1000, 1001]).readAll()).toEqual([
      { uid: 1001, cpuUsageNsec: 5, memoryBytes: 6, tasks: 1 },
      { uid: 1000, cpuUsageNsec: null, memoryBytes: null, tasks: null },
    ]);
    expect(await withUnmeasured(files, async () => Promise.reject(new Error('bus down'))).readAll()).toEqual([{ uid: 1001, cpuUsageNsec: 5, memoryBytes: 6, tasks: 1 }]);
    expect(withUnmeasured(files, async () => []).mode).toBe('cgroupfs files (v1)');
  });
});
