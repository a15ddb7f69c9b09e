// Unit: the PAM hook's decisions (which calls it makes, how it applies the failure mode), with no daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOOK = join(__dirname, '../../dist/pam-hook'); // built by npm run build (build:hook)
let dir: string;

/** Runs the hook against a bus socket that does not exist: every D-Bus call fails at once. */
function hook(mode: 'open' | 'closed', env: Record<string, string>, extra = ''): number {
  const conf = join(dir, `${mode}.conf`);
  writeFileSync(conf, `[Users]\nUIDMin=1000\nUIDMax=65534\n[Hook]\nFailureMode=${mode}\nBusAddress=unix:path=${dir}/no.sock\nRuntimeDirectory=${dir}\n${extra}`);
  const r = spawnSync(HOOK, [conf], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 10_000 });
  return r.status ?? -1;
}

describe('PAM hook decisions', () => {
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'diycloud-hookunit-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // nobody (uid 65534) is inside UIDMin..UIDMax here, so the hook calls the (missing) daemon for it.
  it.each([
    ['open', 'account', 0], ['open', 'open_session', 0], ['open', 'close_session', 0],
    ['closed', 'account', 1], ['closed', 'open_session', 1], ['closed', 'close_session', 0],
  ] as const)('daemon unreachable, %s mode, %s: exit %i', (mode, type, code) => {
    expect(hook(mode, { PAM_TYPE: type, PAM_USER: 'nobody' })).toBe(code);
  });

  it.each([
    ['root', 'root'], ['a system account (uid below UIDMin)', 'daemon'], ['a name unknown to NSS', 'nosuchuserdc'],
  ])('%s is skipped: exit 0 even in closed mode', (_l, user) => {
    expect(hook('closed', { PAM_TYPE: 'account', PAM_USER: user })).toBe(0);
  });

  it('an unknown PAM_TYPE (auth, password) is ignored', () => {
    expect(hook('closed', { PAM_TYPE: 'auth', PAM_USER: 'nobody' })).toBe(0);
    expect(hook('closed', { PAM_TYPE: 'password', PAM_USER: 'nobody' })).toBe(0);
  });

  it.each(['', '-x', 'Root', '1abc', 'a b', 'a;b', '$(id)', 'a'.repeat(33)])('a malformed PAM_USER %j follows the failure mode', (user) => {
    expect(hook('open', { PAM_TYPE: 'account', PAM_USER: user })).toBe(0);
    expect(hook('closed', { PAM_TYPE: 'account', PAM_USER: user })).toBe(1);
  });

  it('a bad FailureMode in the config falls back to open', () => {
    expect(hook('closed', { PAM_TYPE: 'account', PAM_USER: 'nobody' }, 'FailureMode=sometimes\n')).toBe(0);
  });
});
