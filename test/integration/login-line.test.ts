// Integration: the login line: OpenSession's reply, the real hook showing it only to interactive logins, and `diycloudctl limits` for a plain user.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { busctl, MGR, run, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { addDbUser } from './lib/db';
import { createHostUsers, type HostUser } from './lib/host-users';

const HOOK = join(REPO, 'dist', 'pam-hook');
const CLI = join(REPO, 'dist', 'entry', 'cli.js');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('*** login-line integration tests SKIPPED: they need root (useradd, setpriv) ***');

describe.skipIf(!isRoot)('the login line', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;
  let alice: HostUser;
  let bob: HostUser;
  let home = '';
  const hook = (env: Record<string, string>) =>
    run(HOOK, [d.configPath], { env: { PATH: '/usr/bin:/bin', PAM_TYPE: 'open_session', PAM_USER: alice.name, PAM_RHOST: '', ...env }, timeoutMs: 10_000 });
  const ctl = (asUid: number, args: string[]) =>
    run('/usr/bin/setpriv', [`--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', process.execPath, CLI, '--bus-address', bus.address, ...args]);

  beforeAll(async () => {
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    users = createHostUsers(2, 2850);
    [alice, bob] = users.users;
    // alice is logged in elsewhere and uses 300M; her home (from NSS: /home/NAME) is made for the hush file
    fake.addSlice(alice.uid, 300n * 1024n ** 2n);
    home = `/home/${alice.name}`;
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, alice.uid, alice.uid);
    const conf = `[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n[Hook]\nBusAddress=${bus.address}\nTimeoutSec=2\nRuntimeDirectory=/nonexistent/diycloud-login-line\n`;
    d = await startDaemon(bus.address, conf);
    addDbUser(d.dbPath, { name: alice.name, uid: alice.uid, cpu: 0.5, memory: '1G', tasks: 300 });
  });
  afterAll(async () => {
    await d?.stop();
    fake?.close();
    await bus?.stop();
    users?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('OpenSession answers the line: the allocation, and memory in use where the session open observed it', async () => {
    const r = await busctl(bus.address, ['--json=short', 'call', ...MGR, 'OpenSession', 'ssss', alice.name, 'sshd', '/dev/pts/7', '']);
    expect(r.stderr).toBe('');
    const [line] = JSON.parse(r.stdout).data as [string];
    expect(line).toMatch(/^diycloud: 0\.5 CPU cores, memory (300M of )?1G, no GPUs$/);
    // a user diycloud does not manage gets an empty line
    const other = await busctl(bus.address, ['--json=short', 'call', ...MGR, 'OpenSession', 'ssss', 'root', 'sshd', '/dev/pts/7', '']);
    expect(JSON.parse(other.stdout).data).toEqual(['']);
  });

  it('the hook prints it for sshd (which shows it only to pty logins without a command) and login on a terminal; su, sudo, cron and ~/.hushlogin stay quiet', async () => {
    // sshd opens the PAM session before any pty exists: PAM_TTY is "ssh" for every ssh login
    const shown = await hook({ PAM_SERVICE: 'sshd', PAM_TTY: 'ssh' });
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^diycloud: 0\.5 CPU cores, memory (300M of )?1G, no GPUs\n$/);
    expect((await hook({ PAM_SERVICE: 'login', PAM_TTY: 'tty3' })).stdout).toBe(shown.stdout);
    for (const env of [{ PAM_SERVICE: 'login', PAM_TTY: 'ssh' }, { PAM_SERVICE: 'login' }, { PAM_SERVICE: 'su-l', PAM_TTY: '/dev/pts/7' }, { PAM_SERVICE: 'sudo', PAM_TTY: '/dev/pts/7' }, { PAM_SERVICE: 'cron' }]) {
      expect(await hook(env), JSON.stringify(env)).toMatchObject({ code: 0, stdout: '' });
    }
    writeFileSync(join(home, '.hushlogin'), '');
    try {
      expect(await hook({ PAM_SERVICE: 'sshd', PAM_TTY: 'ssh' })).toMatchObject({ code: 0, stdout: '' });
      expect(await hook({ PAM_SERVICE: 'login', PAM_TTY: 'tty3' })).toMatchObject({ code: 0, stdout: '' });
    } finally {
      rmSync(join(home, '.hushlogin'));
    }
    // a dangling link named .hushlogin hushes too: the name is looked up, never followed
    symlinkSync('/nonexistent/elsewhere', join(home, '.hushlogin'));
    expect(await hook({ PAM_SERVICE: 'sshd', PAM_TTY: 'ssh' })).toMatchObject({ code: 0, stdout: '' });
    rmSync(join(home, '.hushlogin'));
    expect((await hook({ PAM_SERVICE: 'sshd', PAM_TTY: 'ssh' })).stdout).toBe(shown.stdout);
  });

  it('a plain user runs `diycloudctl limits` and sees their own allocation, its sources and live use', async () => {
    const r = await ctl(alice.uid, ['limits']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')[0]).toBe(`${alice.name} (uid ${alice.uid}), role user`);
    expect(r.stdout).toMatch(/^cpu\s+0\.5\s+user\s+/m);
    expect(r.stdout).toMatch(/^memory\s+1G\s+user\s+/m);
    expect(r.stdout).toMatch(/^disk\s+\S+\s+default\s+/m);
    expect(r.stdout).toMatch(/^In use: memory 300M \(29% of 1G\)/m);
    const j = JSON.parse((await ctl(alice.uid, ['limits', '--json'])).stdout);
    expect(j).toMatchObject({ name: alice.name, uid: alice.uid, allocation: { cpu: 0.5, tasks: 300 }, sources: { cpu: 'user', memory: 'user', tasks: 'user', gpu: 'default' }, cgroup: { exists: true, memoryCurrentBytes: 300 * 1024 ** 2 } });
    expect(await ctl(alice.uid, ['--json', 'limits', 'show'])).toMatchObject({ code: 0 });
    // bob, not in the database, gets the defaults; and another user's record stays closed to him
    expect(JSON.parse((await ctl(bob.uid, ['limits', '--json'])).stdout)).toMatchObject({ name: bob.name, sources: { cpu: 'default', memory: 'default' }, cgroup: { exists: false } });
    const other = await ctl(bob.uid, ['limits', 'show', alice.name]);
    expect([4, 5]).toContain(other.code);
  });
});
