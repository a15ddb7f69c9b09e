// Unit: the login-path use cases with in-memory ports.
import { describe, expect, it } from 'vitest';
import { checkLogin, closeSession, openSession } from '../../../src/app/login';
import { getUser } from '../../../src/app/get-user';
import { addUser, testDeps, type TestDeps } from '../../fakes/app-deps';
import type { ProcessFacts } from '../../../src/core/placement';

const M = 1024 ** 2;

describe('checkLogin', () => {
  it('refuses a disabled database user in range, allows the rest', () => {
    const d = testDeps();
    addUser(d, { name: 'carol', uid: 1001, active: false });
    addUser(d, { name: 'dan', uid: 1002 });
    addUser(d, { name: 'sys', uid: 500, active: false });
    expect(checkLogin(d, { user: 'carol', service: 'sshd', rhost: '' })).toEqual({ allowed: false, reason: 'account disabled by the diycloud administrator' });
    expect(checkLogin(d, { user: 'dan', service: 'sshd', rhost: '' }).allowed).toBe(true);
    expect(checkLogin(d, { user: 'sys', service: 'sshd', rhost: '' })).toEqual({ allowed: true, reason: 'outside the managed UID range' });
    expect(checkLogin(d, { user: 'stranger', service: 'sshd', rhost: '' })).toEqual({ allowed: true, reason: 'not managed by diycloud' });
  });
  it('validates every argument', () => {
    const d = testDeps();
    expect(() => checkLogin(d, { user: 'Bad', service: 'sshd', rhost: '' })).toThrow(/user:/);
    expect(() => checkLogin(d, { user: 'ok', service: 'x'.repeat(300), rhost: '' })).toThrow(/service: longer than 256/);
    expect(() => checkLogin(d, { user: 'ok', service: 'sshd', rhost: 5 })).toThrow(/rhost: expected a string/);
  });
});

describe('openSession / closeSession', () => {
  it('applies the database allocation, records the session and last_login', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, cpu: 0.5, memory: '512M' });
    const r = await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '192.0.2.1' }, null);
    expect(r?.changed).toEqual(['cpuQuotaPerSecUsec', 'memoryMaxBytes', 'memoryHighBytes']);
    expect(d.slices.slices.get(1000)?.settings).toEqual({ cpuQuotaPerSecUsec: 500_000, memoryMaxBytes: 512 * M, memoryHighBytes: 'infinity' });
    expect(d.db.prepare('SELECT last_login FROM users WHERE uid = 1000').get()).toEqual({ last_login: '2026-11-25T12:00:00.000Z' });
    await closeSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '192.0.2.1' });
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions WHERE closed_at IS NOT NULL').get()).toEqual({ n: 1 });
  });
  it('a second session sends nothing when the slice already carries the allocation', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '' }, null);
    const again = await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/1', rhost: '' }, null);
    expect(again?.changed).toEqual([]);
    expect(d.slices.applied).toHaveLength(1);
  });
  it('an NSS user in range without a row gets the default; out of range is left alone', async () => {
    const d = testDeps();
    d.nss.set('ldapuser', 1500);
    d.nss.set('daemonish', 100);
    await openSession(d, { user: 'ldapuser', service: 'sshd', tty: '', rhost: '' }, null);
    expect(d.slices.slices.get(1500)?.settings).toMatchObject({ cpuQuotaPerSecUsec: 1_000_000, memoryMaxBytes: 2048 * M });
    expect(await openSession(d, { user: 'daemonish', service: 'sshd', tty: '', rhost: '' }, null)).toBeNull();
    expect(d.slices.slices.has(100)).toBe(false);
  });
  it('an unknown user is NoSuchUser and nothing changes', async () => {
    const d = testDeps();
    await expect(openSession(d, { user: 'ghost', service: 'sshd', tty: '', rhost: '' }, null)).rejects.toMatchObject({ code: 'NoSuchUser' });
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });
  it('a backend failure records no session', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    d.slices.failApply = true;
    await expect(openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' }, null)).rejects.toThrow(/injected/);
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });
  it('a hand-edited invalid stored value falls back to the default and is logged', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, memory: '2 G' });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' }, null);
    expect(d.slices.slices.get(1000)?.settings.memoryMaxBytes).toBe(2048 * M);
    expect(d.logs.some((l) => /error: uid 1000: memoryMaxBytes: stored user value "2 G" is invalid/.test(l))).toBe(true);
  });
  it('a stored value below the floor enforces the default instead', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, memory: '1K' });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' }, null);
    expect(d.slices.slices.get(1000)?.settings.memoryMaxBytes).toBe(2048 * M);
  });
});

describe('openSession moves the login process into the user slice', () => {
  const HOOK = 500;
  const APP = 400;
  /** The hook (the bus caller) and its parent, the PAM application, as /proc would show them. */
  const setup = (parent: Partial<ProcessFacts> = {}, hook: Partial<ProcessFacts> = {}): TestDeps => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, cpu: 0.5 });
    d.slices.isLive = () => true;
    d.procs.set(HOOK, { pid: HOOK, comm: 'pam-hook', ppid: APP, euid: 0, startTime: 9000, cgroup: '/user.slice/user-0.slice/session-3.scope', ...hook });
    d.procs.set(APP, { pid: APP, comm: 'su', ppid: 300, euid: 0, startTime: 8000, cgroup: '/user.slice/user-0.slice/session-3.scope', ...parent });
    return d;
  };
  const open = (d: TestDeps, user = 'alice', callerPid: number | null = HOOK) => openSession(d, { user, service: 'su-l', tty: 'pts/1', rhost: '' }, callerPid);
  const sessions = (d: TestDeps) => (d.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;

  it('su - in root\'s session: the su process goes into user-1000.slice before the limits are set, then the session is recorded', async () => {
    const d = setup();
    await open(d);
    expect(d.slices.ops).toEqual(['place 1000 400', 'apply 1000']);
    expect(d.slices.slices.get(1000)?.settings.cpuQuotaPerSecUsec).toBe(500_000);
    expect(sessions(d)).toBe(1);
    expect(d.logs).toContain('info: uid 1000: moved login process 400 into its cgroup (memory)');
  });
  it('a cron job child in system.slice/cron.service is moved the same way', async () => {
    const d = setup({ comm: 'cron', cgroup: '/system.slice/cron.service' });
    await open(d);
    expect(d.slices.placements).toEqual([{ uid: 1000, pid: APP }]);
  });
  it('ssh after pam_systemd: a parent already in user-1000.slice is left alone (no backend call at all)', async () => {
    const d = setup({ comm: 'sshd', cgroup: '/user.slice/user-1000.slice/session-9.scope' });
    await open(d);
    expect(d.slices.ops).toEqual(['apply 1000']);
    expect(sessions(d)).toBe(1);
  });
  it('root calling OpenSession from a shell (busctl) never gets its shell moved; nor does an unknown caller PID', async () => {
    const d = setup({ comm: 'bash' }, { comm: 'busctl' });
    await open(d);
    await open(d, 'alice', null);
    await open(d, 'alice', 777); // no such process
    expect(d.slices.placements).toEqual([]);
    expect(sessions(d)).toBe(3);
  });
  it('root and system accounts: nothing is moved', async () => {
    const d = setup();
    d.nss.set('root', 0);
    d.nss.set('daemon', 1);
    expect(await open(d, 'root')).toBeNull();
    expect(await open(d, 'daemon')).toBeNull();
    expect(d.slices.placements).toEqual([]);
  });
  it('a parent of another user, PID 1, or the daemon itself is not moved', async () => {
    const cases: [Partial<ProcessFacts>, RegExp][] = [
      [{ euid: 1001 }, /runs as uid 1001, neither root nor uid 1000/],
      [{ pid: 1 }, /parent is PID 1/],
      [{ pid: 99 }, /parent is diycloudd itself/],
    ];
    for (const [parent, why] of cases) {
      const d = setup(parent, { ppid: parent.pid ?? APP });
      d.procs.set(parent.pid ?? APP, { ...d.procs.get(APP)!, ...parent });
      await open(d);
      expect(d.slices.placements, JSON.stringify(parent)).toEqual([]);
      expect(d.logs.filter((l) => l.startsWith('debug: uid 1000: login process not moved')).join('\n')).toMatch(why);
    }
  });
  it('a PID that names another process after the move (reused) is BackendFailed: no limits, no session', async () => {
    const d = setup();
    const place = d.slices.placeProcess.bind(d.slices);
    d.slices.placeProcess = async (uid, pid) => {
      const r = await place(uid, pid);
      d.procs.set(APP, { ...d.procs.get(APP)!, startTime: 9500, comm: 'other' }); // su died and its PID was reused meanwhile
      return r;
    };
    await expect(open(d)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/PID 400 now names another process/) });
    expect(d.slices.applied).toEqual([]);
    expect(sessions(d)).toBe(0);
  });
  it('a parent gone after the move is BackendFailed', async () => {
    const d = setup();
    const place = d.slices.placeProcess.bind(d.slices);
    d.slices.placeProcess = async (uid, pid) => (d.procs.delete(APP), place(uid, pid));
    await expect(open(d)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/PID 400 is gone/) });
  });
  it('a failed move is BackendFailed (the hook applies FailureMode): no limits, no session', async () => {
    const d = setup();
    d.slices.failPlace = true;
    await expect(open(d)).rejects.toMatchObject({ code: 'BackendFailed' });
    expect(d.slices.applied).toEqual([]);
    expect(sessions(d)).toBe(0);
  });
  it('backend "none": the move is skipped with a debug line, and the session still opens', async () => {
    const d = setup();
    d.slices.placeProcess = async () => 'unsupported' as never;
    await open(d);
    expect(d.logs).toContain('debug: uid 1000: PID 400 not moved: backend memory has no user cgroups');
    expect(sessions(d)).toBe(1);
  });
});

describe('getUser', () => {
  it('shows the effective allocation with its sources and what the slice carries', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, cpu: 2 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' }, null);
    const v = await getUser(d, 'alice');
    expect(v).toMatchObject({ name: 'alice', uid: 1000, managed: true, inDatabase: true, allocation: { cpu: 2, memory: 2048 * M }, sources: { cpu: 'user', memory: 'default' } });
    expect(v.cgroup).toEqual({ exists: true, settings: { cpuQuotaPerSecUsec: 2_000_000, memoryMaxBytes: 2048 * M, memoryHighBytes: 'infinity' }, memoryCurrentBytes: null, cpuUsageNsec: null, tasksCurrent: null });
  });
});

describe('watchSessionEnds', () => {
  it('closes the record of a session logind reports ended, preferring the same tty', async () => {
    const { watchSessionEnds } = await import('../../../src/app/watch-sessions');
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'ssh', rhost: '' }, null);
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/1', rhost: '' }, null);
    await openSession(d, { user: 'alice', service: 'login', tty: 'tty1', rhost: '' }, null);
    await watchSessionEnds(d);
    d.ended.cb!({ uid: 1000, service: 'sshd', tty: 'ssh' });
    const open = () => d.db.prepare('SELECT service, tty FROM sessions WHERE closed_at IS NULL ORDER BY id').all();
    expect(open()).toEqual([{ service: 'sshd', tty: 'pts/1' }, { service: 'login', tty: 'tty1' }]);
    d.ended.cb!({ uid: 1000, service: 'login', tty: '' }); // logind knows no tty: the most recent of that service
    expect(open()).toEqual([{ service: 'sshd', tty: 'pts/1' }]);
    d.ended.cb!({ uid: 42, service: 'sshd', tty: '' }); // not managed
    expect(open()).toHaveLength(1);
    d.ended.cb!({ uid: 1000, service: null, tty: null }); // the user's last session is gone
    expect(open()).toEqual([]);
  });
});
