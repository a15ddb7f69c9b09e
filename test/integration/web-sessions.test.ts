// Integration: org.diycloud.Web1 on the real diycloudd and a real dbus-daemon: PAM logins (pam-verify),
// sessions, logout, throttling, the bus policy, and the whole authorization matrix through web sessions
// against the same matrix on the bus (fake polkit: unix-process subjects as polkitd treats them).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { REPO, startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { createHostUsers } from './lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';
import type { Who } from '../contract/polkit-contract';
import { compareWebMatrix, WEB, webCallArgs } from '../contract/web-authorization';

const CONF = `[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n[Accounts]\nPamVerify=${REPO}/dist/pam-verify\n`;
const isRoot = process.getuid?.() === 0;
const PASSWORD = 'correct horse battery';

interface SessionJson { token?: string; user: string; uid: number; role: string; csrfToken: string; idleExpiresAt: string; can?: Record<string, boolean> }

describe.skipIf(!isRoot)('org.diycloud.Web1 on a real dbus-daemon', () => {
  let bus: TestBus;
  let systemd: FakeSystemd;
  let polkit: FakePolkit;
  let d: DaemonProcess;
  let hostUsers: ReturnType<typeof createHostUsers>;
  const who: Partial<Record<Who, { name: string; uid: number }>> = {};
  let target: string;
  const call = (args: string[], asUid?: number) => busctl(bus.address, args, asUid === undefined ? {} : { asUid });
  const login = async (user: string, password: string, address = '192.0.2.1') => call(['--json=short', 'call', ...WEB, 'Login', 'ssa{sv}', user, password, '1', 'address', 's', address]);
  const json = <T>(stdout: string): T => JSON.parse((JSON.parse(stdout) as { data: [string] }).data[0]) as T;

  let madeServiceUser = false;
  let serviceUid = -1;

  beforeAll(async () => {
    // The diycloud-web account must exist before the bus reads its policy and the daemon looks it up.
    if (spawnSync('/usr/bin/getent', ['passwd', 'diycloud-web']).status !== 0) {
      const r = spawnSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', '--', 'diycloud-web'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      madeServiceUser = true;
    }
    serviceUid = Number(spawnSync('/usr/bin/id', ['-u', 'diycloud-web'], { encoding: 'utf8' }).stdout.trim());
    bus = await startTestBus();
    systemd = await startFakeSystemd(bus.address);
    hostUsers = createHostUsers(5, 2820);
    const [plain, operator, admin, t, spare] = hostUsers.users;
    Object.assign(who, { plain, operator, admin });
    target = t.name;
    const pw = spawnSync('/usr/sbin/chpasswd', [], { input: [plain, operator, admin, spare].map((u) => `${u.name}:${PASSWORD}`).join('\n') + '\n', encoding: 'utf8' });
    expect(pw.status, pw.stderr).toBe(0);
    polkit = await startFakePolkit(bus.address, { [operator.uid]: 'operator', [admin.uid]: 'admin' });
    d = await startDaemon(bus.address, CONF);
    for (const u of [t, plain, operator, admin, spare]) expect((await call(['call', ...MGR, 'AdoptUser', 'ss', u.name, 'user'])).stderr).toBe('');
  });
  afterAll(async () => {
    await d?.stop();
    polkit?.close();
    systemd?.close();
    await bus?.stop();
    hostUsers?.remove();
    if (madeServiceUser) spawnSync('/usr/sbin/userdel', ['--', 'diycloud-web']);
  });

  it('logs in through PAM, describes the session with polkit\'s answers, and logs out', async () => {
    const r = await login(who.operator!.name, PASSWORD);
    expect(r.stderr).toBe('');
    const s = json<SessionJson>(r.stdout);
    expect(s).toMatchObject({ user: who.operator!.name, uid: who.operator!.uid, role: 'user' });
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = json<SessionJson>((await login(who.operator!.name, PASSWORD)).stdout);
    expect(again.token).not.toBe(s.token); // a new session every time: nothing fixed before login survives it
    const desc = json<SessionJson>((await call(['--json=short', 'call', ...WEB, 'Session', 's', s.token!])).stdout);
    expect(desc).toMatchObject({ user: who.operator!.name, csrfToken: s.csrfToken, can: { readUsers: true, manageLimits: true, manageUsers: false, setEnabled: true } });
    expect(desc.token).toBeUndefined();
    expect(polkit.calls.some((c) => c.uid === who.operator!.uid && c.action === 'org.diycloud.manage-limits')).toBe(true);
    expect((await call(['call', ...WEB, 'Logout', 's', s.token!])).stderr).toBe('');
    const replay = await call(['call', ...WEB, 'Session', 's', s.token!]);
    expect(replay.stderr).toMatch(/web session is unknown, logged out or expired/);
    expect((await call(webCallArgs(s.token!, ['call', ...MGR, 'GetUser', 's', who.operator!.name]))).stderr).toMatch(/web session is unknown/);
  });

  it('refuses wrong passwords and unknown names alike, then throttles the user', async () => {
    const wrong = await login(who.plain!.name, 'not the password');
    const unknown = await login('dcnosuchuser', PASSWORD);
    expect(wrong.stderr).toMatch(/login refused: wrong user name or password/);
    expect(unknown.stderr).toBe(wrong.stderr);
    const spare = hostUsers.users[4].name;
    for (let i = 0; i < 5; i++) expect((await login(spare, 'nope', `198.51.100.${i}`)).stderr).toMatch(/login refused/);
    const limited = await login(spare, PASSWORD, '198.51.100.99');
    expect(limited.stderr).toMatch(/too many failed logins for this user; retry in \d+ s/);
  });

  it('a disabled user cannot log in, and loses a session already open', async () => {
    const s = json<SessionJson>((await login(who.admin!.name, PASSWORD)).stdout);
    expect((await call(['call', ...MGR, 'SetEnabled', 'sba{sv}', who.admin!.name, 'false', '0'])).stderr).toBe('');
    try {
      expect((await call(['call', ...WEB, 'Session', 's', s.token!])).stderr).toMatch(/account was disabled/);
      expect((await login(who.admin!.name, PASSWORD)).stderr).toMatch(/login refused/);
    } finally {
      expect((await call(['call', ...MGR, 'SetEnabled', 'sba{sv}', who.admin!.name, 'true', '0'])).stderr).toBe('');
    }
  });

  it('only root and diycloud-web may use Web1 (bus policy)', async () => {
    const r = await call(['call', ...WEB, 'Logout', 's', 'x'], who.plain!.uid);
    expect(r.stderr).toMatch(/Access denied/);
    // diycloud-web itself gets through the policy and the daemon's uid check.
    const viaService = await call(['--json=short', 'call', ...WEB, 'Login', 'ssa{sv}', who.plain!.name, PASSWORD, '1', 'address', 's', '192.0.2.9'], serviceUid);
    expect(viaService.stderr).toBe('');
    const token = json<SessionJson>(viaService.stdout).token!;
    expect((await call(['call', ...WEB, 'Session', 's', token], serviceUid)).stderr).toBe('');
    expect((await call(['call', ...WEB, 'Logout', 's', token], serviceUid)).stderr).toBe('');
  });

  it('Call refuses root-only members and mistyped arguments, and audits as the user, marked via web', async () => {
    const token = json<SessionJson>((await login(who.operator!.name, PASSWORD)).stdout).token!;
    const rootOnly = await call(['call', ...WEB, 'Call', 'ssav', token, 'CheckLogin', '3', 's', target, 's', 'sshd', 's', '']);
    expect(rootOnly.stderr).toMatch(/CheckLogin cannot be called through a web session/);
    const mistyped = await call(['call', ...WEB, 'Call', 'ssav', token, 'ResetLimits', '1', 'u', '7']);
    expect(mistyped.stderr).toMatch(/ResetLimits takes \(s\), got \(u\)/);
    expect((await call(webCallArgs(token, ['call', ...MGR, 'ResetLimits', 's', target]))).stderr).toBe('');
    const log = await call(['--json=short', 'call', ...MGR, 'GetAuditLog', 'a{sv}', '2', 'limit', 'u', '1', 'user', 's', target]);
    const rows = json<{ callerUid: number; action: string; detail: string }[]>(log.stdout);
    expect(rows[0]).toMatchObject({ callerUid: who.operator!.uid, action: 'ResetLimits' });
    expect(rows[0].detail).toMatch(/^via web/);
  });

  it('throttles a client address guessing many names', async () => {
    for (let i = 0; i < 20; i++) expect((await login(`dcguess${i}`, 'nope', '203.0.113.7')).stderr).toMatch(/login refused/);
    const limited = await login(who.plain!.name, PASSWORD, '203.0.113.7');
    expect(limited.stderr).toMatch(/too many failed logins for this address; retry in \d+ s/);
    expect((await login(who.plain!.name, PASSWORD, '203.0.113.8')).stderr).toBe('');
  });

  it('a web session reads its own record, and reaches nothing the same user could not reach on the bus', async () => {
    const tokens: Partial<Record<Who, string>> = {};
    for (const w of ['plain', 'operator', 'admin'] as const) tokens[w] = json<SessionJson>((await login(who[w]!.name, PASSWORD)).stdout).token!;
    const own = await call(['--json=short', ...webCallArgs(tokens.plain!, ['call', ...MGR, 'GetUser', 's', who.plain!.name])]);
    expect(own.stderr).toBe('');
    expect(JSON.parse((JSON.parse(own.stdout) as { data: [{ data: string }[]] }).data[0][0].data)).toMatchObject({ name: who.plain!.name });
    const { problems, compared } = await compareWebMatrix({ target }, ['plain', 'operator', 'admin'],
      (w, args) => busctl(bus.address, args, { asUid: who[w]!.uid }),
      (w, args) => call(webCallArgs(tokens[w]!, args)));
    expect(problems).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(15 * 3);
  }, 120_000);
});
