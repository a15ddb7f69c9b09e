// Unit: disabling expires a local account and enabling puts the saved expiry back (ShadowAccountAdmin over a recorded RunFn).
import { describe, expect, it } from 'vitest';
import { parseShadowExpiry, ShadowAccountAdmin, SHADOW_PATHS } from '../../../src/adapters/accounts/shadow-account-admin';
import type { RunFn } from '../../../src/adapters/exec/program-runner';
import type { Logger } from '../../../src/core/ports';

const log: Logger & { lines: string[] } = { lines: [], debug: () => undefined, info: () => undefined, warn: (m) => void log.lines.push(m), error: (m) => void log.lines.push(m) };

/** Programs answer from a shadow table; usermod calls are recorded (and change the table's expiry). */
function fake(shadow: Record<string, string>, fail: Record<string, number> = {}) {
  const calls: string[] = [];
  const run: RunFn = async (path, args) => {
    calls.push([path, ...args].join(' '));
    const user = args[args.length - 1];
    if (path === SHADOW_PATHS.getent) return user in shadow ? { code: 0, signal: null, stdout: `${user}:!:19000:0:99999:7::${shadow[user]}:\n`, stderr: '' } : { code: 2, signal: null, stdout: '', stderr: '' };
    const flag = args[0];
    if (fail[flag]) return { code: fail[flag], signal: null, stdout: '', stderr: 'usermod: nope' };
    const e = args.indexOf('--expiredate');
    if (e >= 0) shadow[user] = args[e + 1];
    return { code: 0, signal: null, stdout: '', stderr: '' };
  };
  return { calls, admin: new ShadowAccountAdmin(log, SHADOW_PATHS, run) };
}

describe('parseShadowExpiry', () => {
  it.each([
    ['bob:x:1:0:99999:7:::', 'never'],
    ['bob:x:1:0:99999:7::-1:', 'never'],
    ['bob:x:1:0:99999:7::20800:', { days: 20800 }],
    ['bob:x:1:0:99999:7::1:', { days: 1 }],
  ])('%s', (line, want) => expect(parseShadowExpiry(line, 'bob')).toEqual(want));
  it.each(['alice:x:1:0:99999:7::5:', 'bob:x:1', 'bob:x:1:0:99999:7::soon:'])('refuses %s', (line) => expect(() => parseShadowExpiry(line, 'bob')).toThrow());
});

describe('ShadowAccountAdmin disable/enable', () => {
  it('disable locks and expires in one usermod, with "--" before the name, and returns the expiry it replaced', async () => {
    const f = fake({ bob: '20800' });
    expect(await f.admin.disable('bob')).toEqual({ days: 20800 });
    expect(f.calls).toEqual(['/usr/bin/getent shadow -- bob', '/usr/sbin/usermod --lock --expiredate 1 -- bob']);
  });
  it('enable puts the saved expiry back, then unlocks; "never" clears it', async () => {
    const f = fake({ bob: '1', ann: '1' });
    await f.admin.enable('bob', { days: 20800 });
    await f.admin.enable('ann', 'never');
    expect(f.calls.filter((c) => c.includes('usermod'))).toEqual([
      '/usr/sbin/usermod --expiredate 20800 -- bob', '/usr/sbin/usermod --unlock -- bob',
      '/usr/sbin/usermod --expiredate  -- ann', '/usr/sbin/usermod --unlock -- ann',
    ]);
  });
  it('with nothing saved, enable lifts only an expiry of ours (day 1) and keeps any other', async () => {
    const f = fake({ bob: '1', ann: '20000' });
    await f.admin.enable('bob', null);
    await f.admin.enable('ann', null);
    expect(f.calls.filter((c) => c.includes('--expiredate'))).toEqual(['/usr/sbin/usermod --expiredate  -- bob', '/usr/sbin/usermod --expiredate 20000 -- ann']);
  });
  it('a directory user (no local shadow entry) is left alone and says so', async () => {
    const f = fake({});
    expect(await f.admin.disable('ldapbob')).toBeNull();
    expect(f.calls).toEqual(['/usr/bin/getent shadow -- ldapbob']);
    expect(log.lines.some((l) => l.includes('ldapbob has no local shadow entry'))).toBe(true);
  });
  it('a failed expiry is BackendFailed (the use case then changes nothing); a refused unlock is only logged', async () => {
    await expect(fake({ bob: '' }, { '--lock': 1 }).admin.disable('bob')).rejects.toMatchObject({ code: 'BackendFailed' });
    await expect(fake({ bob: '1' }, { '--unlock': 3 }).admin.enable('bob', 'never')).resolves.toBeUndefined();
  });
});
