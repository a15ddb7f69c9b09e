// Web session use cases (src/app/web-sessions.ts) with the app's fakes: PAM verifier, accounts, clock, polkit.
import { describe, expect, it } from 'vitest';
import { describeWebSession, webLogin, webLogout, webSession } from '../../../src/app/web-sessions';
import { LoginThrottle, WebSessionTable } from '../../../src/core/web-session';
import { addUser, testDeps } from '../../fakes/app-deps';

function setup() {
  let now = Date.parse('2026-11-25T12:00:00Z');
  const base = testDeps();
  const deps = { ...base, clock: { now: () => new Date(now) }, accounts: { ...base.accounts, byName: async (n: string) => (n === 'alice' ? { name: 'alice', uid: 1001 } : null) } };
  addUser(base, { name: 'alice', uid: 1001 });
  let n = 0;
  const web = { table: new WebSessionTable({ idleMs: 60_000, absoluteMs: 600_000, maxPerUser: 2, maxTotal: 100 }), throttle: new LoginThrottle({ windowMs: 60_000, perUser: 2, perAddress: 10 }), tokens: { newToken: () => `tok${++n}`, keyOf: (t: string) => `k:${t}` }, serviceUid: async () => null };
  return { deps, base, web, advance: (ms: number) => (now += ms) };
}

describe('web sessions (app)', () => {
  it('logs in with the right password only, a new token each time, and answers the same for every refusal', async () => {
    const { deps, web } = setup();
    const wrong = await webLogin(deps, web, { user: 'alice', password: 'nope', address: 'a' }).catch((e: Error) => e);
    const unknown = await webLogin(deps, web, { user: 'bob', password: 'bob-old', address: 'b' }).catch((e: Error) => e);
    expect((wrong as { code?: string }).code).toBe('AuthenticationFailed');
    expect((unknown as Error).message).toBe((wrong as Error).message);
    const s1 = await webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'a' });
    const s2 = await webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'a' });
    expect(s1).toMatchObject({ user: 'alice', uid: 1001 });
    expect(s2.token).not.toBe(s1.token);
    expect([...(web.table as unknown as { byKey: Map<string, unknown> }).byKey.keys()].every((k) => k.startsWith('k:'))).toBe(true);
  });

  it('throttles a user after the allowed failures and says when to retry', async () => {
    const { deps, web, advance } = setup();
    for (let i = 0; i < 2; i++) await expect(webLogin(deps, web, { user: 'alice', password: 'x', address: `a${i}` })).rejects.toMatchObject({ code: 'AuthenticationFailed' });
    await expect(webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'z' })).rejects.toThrow(/retry in 60 s/);
    advance(60_000);
    await expect(webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'z' })).resolves.toMatchObject({ user: 'alice' });
  });

  it('expires idle sessions, forgets logged-out ones, and reports polkit answers as flags (denied is false)', async () => {
    const { deps, base, web, advance } = setup();
    base.grants.set('1001 org.diycloud.read-users', 'allowed');
    const s = await webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'a' });
    expect((await describeWebSession(deps, web, s.token, ':1.5')).can).toEqual({ readUsers: true, manageLimits: false, manageUsers: false, setEnabled: false });
    advance(59_000);
    expect(webSession(deps, web, s.token).uid).toBe(1001);
    advance(59_000);
    expect(webSession(deps, web, s.token).uid).toBe(1001); // touched: idle timer restarted
    advance(60_000);
    expect(() => webSession(deps, web, s.token)).toThrow(expect.objectContaining({ code: 'SessionExpired' }));
    const t = await webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'a' });
    webLogout(web, t.token);
    expect(() => webSession(deps, web, t.token)).toThrow(expect.objectContaining({ code: 'SessionExpired' }));
  });

  it('ends the sessions of a managed user deleted since login, and keeps those of a user diycloud never managed', async () => {
    const { deps, base, web } = setup();
    const alice = await webLogin(deps, web, { user: 'alice', password: 'alice-old', address: 'a' });
    const unmanaged = { ...deps, accounts: { ...deps.accounts, byName: async (n: string) => (n === 'carol' ? { name: 'carol', uid: 1003 } : null) }, passwords: { verify: async () => true } };
    const carol = await webLogin(unmanaged, web, { user: 'carol', password: 'pw', address: 'a' });
    base.admin.deleteUser(1001);
    expect(() => webSession(deps, web, alice.token)).toThrow(/deleted; the web session ended/);
    expect(() => webSession(deps, web, alice.token)).toThrow(expect.objectContaining({ code: 'SessionExpired' }));
    expect(webSession(deps, web, carol.token).uid).toBe(1003);
  });
});
