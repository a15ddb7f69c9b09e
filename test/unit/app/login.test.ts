// Unit: the login-path use cases with in-memory ports.
import { describe, expect, it } from 'vitest';
import { checkLogin, closeSession, openSession } from '../../../src/app/login';
import { getUser } from '../../../src/app/get-user';
import { addUser, testDeps } from '../../fakes/app-deps';

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
    const r = await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '192.0.2.1' });
    expect(r?.changed).toEqual(['CPUQuotaPerSecUSec', 'MemoryMax', 'MemoryHigh']);
    expect(d.slices.slices.get(1000)?.limits).toEqual({ CPUQuotaPerSecUSec: 500_000, MemoryMax: 512 * M, MemoryHigh: 'infinity' });
    expect(d.db.prepare('SELECT last_login FROM users WHERE uid = 1000').get()).toEqual({ last_login: '2026-11-25T12:00:00.000Z' });
    await closeSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '192.0.2.1' });
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions WHERE closed_at IS NOT NULL').get()).toEqual({ n: 1 });
  });
  it('a second session sends nothing when the slice already carries the allocation', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/0', rhost: '' });
    const again = await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/1', rhost: '' });
    expect(again?.changed).toEqual([]);
    expect(d.slices.applied).toHaveLength(1);
  });
  it('an NSS user in range without a row gets the default; out of range is left alone', async () => {
    const d = testDeps();
    d.nss.set('ldapuser', 1500);
    d.nss.set('daemonish', 100);
    await openSession(d, { user: 'ldapuser', service: 'sshd', tty: '', rhost: '' });
    expect(d.slices.slices.get(1500)?.limits).toMatchObject({ CPUQuotaPerSecUSec: 1_000_000, MemoryMax: 2048 * M });
    expect(await openSession(d, { user: 'daemonish', service: 'sshd', tty: '', rhost: '' })).toBeNull();
    expect(d.slices.slices.has(100)).toBe(false);
  });
  it('an unknown user is NoSuchUser and nothing changes', async () => {
    const d = testDeps();
    await expect(openSession(d, { user: 'ghost', service: 'sshd', tty: '', rhost: '' })).rejects.toMatchObject({ code: 'NoSuchUser' });
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });
  it('a backend failure records no session', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    d.slices.failApply = true;
    await expect(openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' })).rejects.toThrow(/injected/);
    expect(d.db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });
  it('a hand-edited invalid stored value falls back to the default and is logged', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, memory: '2 G' });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' });
    expect(d.slices.slices.get(1000)?.limits.MemoryMax).toBe(2048 * M);
    expect(d.logs.some((l) => /error: uid 1000: memoryMaxBytes: stored user value "2 G" is invalid/.test(l))).toBe(true);
  });
  it('a stored value below the floor enforces the default instead', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, memory: '1K' });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' });
    expect(d.slices.slices.get(1000)?.limits.MemoryMax).toBe(2048 * M);
  });
});

describe('getUser', () => {
  it('shows the effective allocation with its sources and what the slice carries', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, cpu: 2 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: '', rhost: '' });
    const v = await getUser(d, 'alice');
    expect(v).toMatchObject({ name: 'alice', uid: 1000, managed: true, inDatabase: true, allocation: { cpu: 2, memory: 2048 * M }, sources: { cpu: 'user', memory: 'default' } });
    expect(v.slice).toEqual({ exists: true, limits: { CPUQuotaPerSecUSec: 2_000_000, MemoryMax: 2048 * M, MemoryHigh: 'infinity' }, memoryCurrent: null, cpuUsageNsec: null, tasks: null });
  });
});

describe('watchSessionEnds', () => {
  it('closes the record of a session logind reports ended, preferring the same tty', async () => {
    const { watchSessionEnds } = await import('../../../src/app/watch-sessions');
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000 });
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'ssh', rhost: '' });
    await openSession(d, { user: 'alice', service: 'sshd', tty: 'pts/1', rhost: '' });
    await openSession(d, { user: 'alice', service: 'login', tty: 'tty1', rhost: '' });
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
