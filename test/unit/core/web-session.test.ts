// Unit: web sessions (idle and absolute expiry, caps, removal) and the login throttle.
import { describe, expect, it } from 'vitest';
import { LoginThrottle, WebSessionTable } from '../../../src/core/web-session';

const policy = { idleMs: 1_000, absoluteMs: 5_000, maxPerUser: 2, maxTotal: 3 };
const rec = (uid: number) => ({ user: `u${uid}`, uid, csrfToken: `c${uid}` });

describe('WebSessionTable', () => {
  it('expires a session idle for idleMs, and touching restarts the idle timer', () => {
    const t = new WebSessionTable(policy);
    t.create('k', rec(1), 0);
    expect(t.touch('k', 999)?.uid).toBe(1);
    expect(t.touch('k', 1_998)?.uid).toBe(1);
    expect(t.touch('k', 2_998)).toBeNull();
    expect(t.touch('k', 2_999)).toBeNull(); // forgotten, not revived
  });

  it('ends a session absoluteMs after login even when always in use', () => {
    const t = new WebSessionTable(policy);
    t.create('k', rec(1), 0);
    for (let now = 500; now < 5_000; now += 500) expect(t.touch('k', now), String(now)).not.toBeNull();
    expect(t.touch('k', 5_000)).toBeNull();
    const r = t.create('k2', rec(1), 10_000);
    expect(t.times(r)).toEqual({ idleExpiresAtMs: 11_000, absoluteExpiresAtMs: 15_000 });
  });

  it('keeps at most maxPerUser sessions of one user (the oldest goes) and maxTotal in all', () => {
    const t = new WebSessionTable(policy);
    t.create('a', rec(1), 0);
    t.create('b', rec(1), 1);
    t.create('c', rec(1), 2);
    expect([t.touch('a', 3), t.touch('b', 3)?.uid, t.touch('c', 3)?.uid]).toEqual([null, 1, 1]);
    t.create('d', rec(2), 4);
    t.create('e', rec(3), 5);
    expect(t.size).toBe(3);
  });

  it('logout and removeUid end sessions', () => {
    const t = new WebSessionTable(policy);
    t.create('a', rec(1), 0);
    t.create('b', rec(2), 0);
    expect(t.remove('a')).toBe(true);
    expect(t.touch('a', 1)).toBeNull();
    expect(t.removeUid(2)).toBe(1);
    expect(t.touch('b', 1)).toBeNull();
  });
});

describe('LoginThrottle', () => {
  const p = { windowMs: 60_000, perUser: 3, perAddress: 5 };

  it('refuses a user after perUser failures in the window, with the time to retry, until the window passes', () => {
    const t = new LoginThrottle(p);
    for (let i = 0; i < 3; i++) {
      expect(t.check('alice', '10.0.0.1', i * 1000).allowed).toBe(true);
      t.failed('alice', '10.0.0.1', i * 1000);
    }
    expect(t.check('alice', '10.0.0.2', 3_000)).toEqual({ allowed: false, by: 'user', retryAfterSec: 57 });
    expect(t.check('bob', '10.0.0.1', 3_000).allowed).toBe(true);
    expect(t.check('alice', '10.0.0.2', 60_000).allowed).toBe(true); // the first failure left the window
  });

  it('refuses an address after perAddress failures across names; a success clears only the user', () => {
    const t = new LoginThrottle(p);
    for (let i = 0; i < 5; i++) t.failed(`user${i}`, '10.0.0.9', 0);
    expect(t.check('newname', '10.0.0.9', 1)).toMatchObject({ allowed: false, by: 'address' });
    expect(t.check('newname', '10.0.0.8', 1).allowed).toBe(true);
    t.failed('carol', '', 0);
    t.failed('carol', '', 0);
    t.succeeded('carol');
    t.failed('carol', '', 0);
    t.failed('carol', '', 0);
    expect(t.check('carol', '', 1).allowed).toBe(true);
  });
});
