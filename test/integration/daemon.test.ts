// Integration: the real diycloudd on a real dbus-daemon, driven with busctl, with the fake systemd1.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRepoFile, type TestBus } from './lib/test-bus';
import { busctl, MGR, type DaemonProcess } from './lib/daemon-process';
import { callDirect } from './lib/dbus-call';
import type { FakeSystemd } from '../fakes/fake-systemd1';
import { addDbUser, sql } from './lib/db';
import type { HostUser } from './lib/host-users';
import { startStack, type Stack } from './lib/stack';

const CONF = '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n[Limits]\nRatchetIntervalSec=1\n';
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('*** integration tests SKIPPED: they need root (setpriv, useradd) ***');

describe.skipIf(!isRoot)('diycloudd on a real dbus-daemon', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let hostUsers: { users: HostUser[] };
  const call = async (member: string, sig: string, ...args: string[]) => busctl(bus.address, ['call', ...MGR, member, ...(sig ? [sig, ...args] : [])]);
  const json = async (member: string, sig: string, ...args: string[]) => {
    const r = await busctl(bus.address, ['--json=short', 'call', ...MGR, member, ...(sig ? [sig, ...args] : [])]);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { data: unknown[] };
  };

  let stack: Stack;
  beforeAll(async () => {
    // 2500: a slice that exists before the daemon starts (linger, cron)
    stack = await startStack({ conf: CONF, users: [2, 2100], beforeDaemon: (f) => f.addSlice(2500) });
    ({ bus, fake, daemon: d } = stack);
    hostUsers = { users: stack.users };
  });
  afterAll(async () => stack?.stop());

  it('serves the interface XML verbatim from Introspect', async () => {
    const xml = JSON.parse((await busctl(bus.address, ['--json=short', 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.freedesktop.DBus.Introspectable', 'Introspect'])).stdout).data[0];
    expect(xml).toBe(readRepoFile('dbus/org.diycloud.Manager1.xml'));
  });

  it('reports Version and Backend', async () => {
    const r = await busctl(bus.address, ['get-property', ...MGR, 'Backend', 'Version']);
    expect(r.stdout).toBe(`s "systemd"\ns "${require('../../package.json').version}"\n`);
  });

  it('reconciled a pre-existing user slice at start-up (default allocation: 1 core, 2G)', async () => {
    expect(fake.props(2500)).toMatchObject({ CPUQuotaPerSecUSec: 1_000_000n, MemoryMax: 2n * 1024n ** 3n });
    expect(fake.calls.every((c) => c.runtime)).toBe(true);
  });

  it('OpenSession puts a database user\'s allocation on their slice and records the session', async () => {
    const u = hostUsers.users[0];
    addDbUser(d.dbPath, { name: u.name, uid: u.uid, cpu: 0.5, memory: '512M', tasks: 200 });
    const r = await call('OpenSession', 'ssss', u.name, 'sshd', 'pts/3', '192.0.2.1');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(fake.props(u.uid)).toMatchObject({ CPUQuotaPerSecUSec: 500_000n, MemoryMax: 512n * 1024n ** 2n, TasksMax: 200n, MemoryHigh: 2n ** 64n - 1n });
    expect(sql(d.dbPath, 'SELECT username, service, tty, rhost, closed_at FROM sessions WHERE uid = ?', u.uid)).toEqual([
      { username: u.name, service: 'sshd', tty: 'pts/3', rhost: '192.0.2.1', closed_at: null },
    ]);
    expect(sql<{ last_login: string | null }>(d.dbPath, 'SELECT last_login FROM users WHERE uid = ?', u.uid)[0].last_login).toMatch(/^\d{4}-/);
    expect((await call('CloseSession', 'ssss', u.name, 'sshd', 'pts/3', '192.0.2.1')).code).toBe(0);
    expect(sql<{ closed_at: string | null }>(d.dbPath, 'SELECT closed_at FROM sessions WHERE uid = ?', u.uid)[0].closed_at).toMatch(/^\d{4}-/);
  });

  it('OpenSession of an NSS user without a database row applies the default allocation', async () => {
    const u = hostUsers.users[1];
    expect((await call('OpenSession', 'ssss', u.name, 'login', 'tty1', '')).code).toBe(0);
    expect(fake.props(u.uid)).toMatchObject({ CPUQuotaPerSecUSec: 1_000_000n, MemoryMax: 2n * 1024n ** 3n });
    // No tasks limit in the allocation: systemd's own default for user slices stays untouched.
    expect(fake.calls.filter((c) => c.unit === `user-${u.uid}.slice`).every((c) => !('TasksMax' in c.props))).toBe(true);
  });

  it('CheckLogin refuses a disabled database user and allows everyone else', async () => {
    addDbUser(d.dbPath, { name: 'dcdisabled', uid: 2300, active: false });
    expect((await json('CheckLogin', 'sss', 'dcdisabled', 'sshd', '')).data).toEqual([false, 'account disabled by the diycloud administrator']);
    expect((await json('CheckLogin', 'sss', hostUsers.users[0].name, 'sshd', '')).data).toEqual([true, 'ok']);
    expect((await json('CheckLogin', 'sss', 'somebodyelse', 'sshd', '')).data).toEqual([true, 'not managed by diycloud']);
    addDbUser(d.dbPath, { name: 'dcoutside', uid: 3500, active: false });
    expect((await json('CheckLogin', 'sss', 'dcoutside', 'sshd', '')).data).toEqual([true, 'outside the managed UID range']);
  });

  it('GetUser returns the record with the effective allocation and where each value came from', async () => {
    const u = hostUsers.users[0];
    const view = JSON.parse((await json('GetUser', 's', u.name)).data[0] as string);
    expect(view).toMatchObject({
      name: u.name, uid: u.uid, managed: true, inDatabase: true, enabled: true,
      allocation: { cpu: 0.5, memory: 512 * 1024 ** 2, disk: 5 * 1024 ** 3, gpu: 'none', tasks: 200 },
      sources: { cpu: 'user', memory: 'user', disk: 'default', gpu: 'default', tasks: 'user' },
      cgroup: { exists: true, settings: { cpuQuotaPerSecUsec: 500000, memoryMaxBytes: 536870912 } },
    });
  });

  it('a user slice that appears later (UnitNew) gets its allocation without any PAM call', async () => {
    addDbUser(d.dbPath, { name: 'dclinger', uid: 2400, cpu: 0.25, memory: '256M' });
    fake.addSlice(2400);
    await expect.poll(() => fake.props(2400)?.CPUQuotaPerSecUSec, { timeout: 5000 }).toBe(250_000n);
    expect(fake.props(2400)?.MemoryMax).toBe(256n * 1024n ** 2n);
  });

  it('Reconcile re-applies changed allocations and reports what it changed; an audit row is written', async () => {
    sql(d.dbPath, "UPDATE resource_allocations SET cpu_limit = 2, mem_limit = '1G' WHERE user_id = (SELECT id FROM users WHERE uid = 2400)");
    const report = JSON.parse((await json('Reconcile', '')).data[0] as string);
    expect(report, JSON.stringify(report)).toMatchObject({ backend: 'systemd', errors: [], reverted: [] });
    expect(report.changed).toContainEqual({ uid: 2400, user: 'dclinger', properties: ['cpuQuotaPerSecUsec', 'memoryMaxBytes'] });
    expect(fake.props(2400)).toMatchObject({ CPUQuotaPerSecUSec: 2_000_000n, MemoryMax: 1024n ** 3n });
    const again = JSON.parse((await json('Reconcile', '')).data[0] as string);
    expect(again.changed).toEqual([]);
    const audit = sql<{ caller_uid: number; caller_pid: number; action: string; result: string }>(d.dbPath, 'SELECT caller_uid, caller_pid, action, result FROM audit_log');
    expect(audit.length).toBe(2);
    expect(audit[0]).toMatchObject({ caller_uid: 0, action: 'Reconcile', result: 'ok' });
    expect(audit[0].caller_pid).toBeGreaterThan(1);
  });

  it('lowers memory below current usage in steps, never in one OOM-killing step', async () => {
    fake.setMemoryCurrent(2400, 900n * 1024n ** 2n); // 900M in use
    sql(d.dbPath, "UPDATE resource_allocations SET mem_limit = '300M' WHERE user_id = (SELECT id FROM users WHERE uid = 2400)");
    await call('Reconcile', '');
    const first = fake.props(2400)!;
    expect(first.MemoryHigh).toBe(300n * 1024n ** 2n);
    expect(first.MemoryMax).toBe(1024n ** 3n); // held at what was in force, above the 900M in use
    fake.setMemoryCurrent(2400, 200n * 1024n ** 2n); // reclaim worked
    await expect.poll(() => fake.props(2400)?.MemoryMax, { timeout: 5000 }).toBe(300n * 1024n ** 2n);
    expect(fake.props(2400)?.MemoryHigh).toBe(2n ** 64n - 1n);
  });

  it('root-only methods refuse other callers, by bus policy and by the daemon\'s own check', async () => {
    for (const [m, sig, ...args] of [['OpenSession', 'ssss', 'x', 's', 't', 'r'], ['OpenSessionHere', 'ssss', 'x', 's', 't', 'r'], ['Reconcile', ''], ['CheckLogin', 'sss', 'x', 's', 'r']] as string[][]) {
      const r = await busctl(bus.address, ['call', ...MGR, m, ...(sig ? [sig, ...args] : [])], { asUid: 65534 });
      expect(r.code, m).not.toBe(0);
      expect(r.stderr, m).toMatch(/Access denied/);
    }
    // GetUser passes the bus policy; reading someone else's record needs polkit, absent here: denied.
    const r = await busctl(bus.address, ['call', ...MGR, 'GetUser', 's', 'root'], { asUid: 65534 });
    expect(r.stderr).toMatch(/not authorized for org\.diycloud\.read-users/);
  });

  it.each([
    ['empty', ''], ['uppercase', 'Alice'], ['dash-leading', '-x'], ['digit-leading', '1abc'], ['numeric', '12345'],
    ['colon', 'a:b'], ['slash', 'a/b'], ['space', 'a b'], ['tab', 'a\tb'], ['33 characters', 'a'.repeat(33)],
  ])('a malformed user name (%s) gets InvalidArgument, changes nothing and the daemon stays up', async (_label, name) => {
    const before = sql(d.dbPath, 'SELECT count(*) AS n FROM sessions');
    for (const [m, sig, extra] of [['OpenSession', 'ssss', 3], ['OpenSessionHere', 'ssss', 3], ['CheckLogin', 'sss', 2], ['GetUser', 's', 0]] as [string, string, number][]) {
      const r = await busctl(bus.address, ['call', ...MGR, m, sig, name, ...Array(extra).fill('x')]);
      expect(r.code, m).not.toBe(0);
      expect(r.stderr.length, m).toBeLessThan(400);
      expect(r.stderr, m).toMatch(/user|name|characters/);
    }
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM sessions')).toEqual(before);
    expect((await busctl(bus.address, ['get-property', ...MGR, 'Version'])).code).toBe(0);
  });

  it('typed errors carry their catalogue names (a megabyte name included)', async () => {
    expect(await callDirect(bus.address, 'GetUser', 's', ['a'.repeat(1 << 20)])).toMatchObject({ error: 'org.diycloud.Manager1.Error.InvalidArgument', message: 'request too large (more than 65536 bytes of arguments)' });
    expect(await callDirect(bus.address, 'GetUser', 's', ['a'.repeat(100)])).toMatchObject({ error: 'org.diycloud.Manager1.Error.InvalidArgument', message: expect.stringMatching(/at most 32 characters/) });
    expect(await callDirect(bus.address, 'OpenSession', 'ssss', ['Bad', 'sshd', '', ''])).toMatchObject({ error: 'org.diycloud.Manager1.Error.InvalidArgument' });
    expect(await callDirect(bus.address, 'GetUser', 's', ['nosuchuserdc'])).toMatchObject({ error: 'org.diycloud.Manager1.Error.NoSuchUser' });
    expect((await busctl(bus.address, ['get-property', ...MGR, 'Version'])).code).toBe(0);
  });

  it('an unknown user gets NoSuchUser from OpenSession and GetUser', async () => {
    const r = await busctl(bus.address, ['call', ...MGR, 'GetUser', 's', 'nosuchuserdc']);
    expect(r.stderr).toMatch(/user "nosuchuserdc" does not exist/);
  });

  it('a wrong signature gets InvalidArgs, an unknown method UnknownMethod, and a backend failure BackendFailed without a stack trace', async () => {
    expect((await busctl(bus.address, ['call', ...MGR, 'GetUser', 'u', '5'])).stderr).toMatch(/GetUser takes \(s\), got \(u\)/);
    expect((await busctl(bus.address, ['call', ...MGR, 'Nope'])).stderr).toMatch(/no method Nope/);
    fake.failNextSets(1);
    sql(d.dbPath, 'UPDATE resource_allocations SET cpu_limit = 3 WHERE user_id = (SELECT id FROM users WHERE uid = ?)', hostUsers.users[0].uid);
    const r = await call('OpenSession', 'ssss', hostUsers.users[0].name, 'sshd', 'pts/4', '');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/systemd: SetUnitProperties user-2100.slice failed/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect(d.log()).toMatch(/injected failure/); // the detail went to the journal instead
  });

  it('session fields with control characters are refused', async () => {
    const r = await call('OpenSession', 'ssss', hostUsers.users[1].name, 'sshd', 'pts/1\nX', '');
    expect(r.stderr).toMatch(/tty: contains control characters/);
  });
});
