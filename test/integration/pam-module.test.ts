// Integration: pam_diycloud.so loaded by a real PAM application (pamtester, libpam's own loader) against the real daemon on a
// real dbus-daemon (fake systemd1). The PAM stack is written to a private /etc/pam.d (a mount namespace), so the host's is untouched.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { startSilentSocket, type SilentSocket } from './lib/silent-socket';
import { startDaemon, type DaemonProcess } from './lib/daemon-process';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { addDbUser, sql } from './lib/db';
import { createHostUsers } from './lib/host-users';
import { runInMountNamespace } from './lib/mount-ns';

const MODULE = join(REPO, 'dist', 'pam_diycloud.so');
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('pam_diycloud.so in a real PAM stack against the real daemon', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;
  let alice: { name: string; uid: number };
  let dis: { name: string; uid: number };
  let work: string;
  let pamd: string;

  const conf = (address: string, extra = '') =>
    `[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n[Hook]\nBusAddress=${address}\nTimeoutSec=1\nRuntimeDirectory=${work}\n${extra}`;
  /** One PAM service file per name, each with the module at account and session, reading `confPath`; `close`: report session ends. */
  const stack = (confPath: string, names = ['sshd', 'login', 'su-l', 'cron'], close = true) => {
    for (const n of names) writeFileSync(join(pamd, n), `account required ${MODULE} conf=${confPath}\nsession required ${MODULE} conf=${confPath}${close ? ' close' : ''}\n`);
  };
  /** pamtester as the PAM application: the module runs inside it, as it would inside sshd or su. */
  const pamtester = (service: string, user: string, ops: string[], items: string[] = []) =>
    runInMountNamespace([[pamd, '/etc/pam.d']], '/usr/bin/pamtester', [...items.flatMap((i) => ['-I', i]), service, user, ...ops], { PATH: '/usr/bin:/bin' }, 15_000);
  const openRows = (uid: number) => sql<{ service: string; tty: string; rhost: string }>(d.dbPath, 'SELECT service, tty, rhost FROM sessions WHERE uid = ? AND closed_at IS NULL', uid);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'diycloud-pammod-'));
    pamd = join(work, 'pam.d');
    mkdirSync(pamd);
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    users = createHostUsers(2, 2260);
    [alice, dis] = users.users;
    d = await startDaemon(bus.address, conf(bus.address));
    addDbUser(d.dbPath, { name: alice.name, uid: alice.uid, cpu: 0.5, memory: '256M' });
    addDbUser(d.dbPath, { name: dis.name, uid: dis.uid, active: false });
    stack(d.configPath);
  });
  afterAll(async () => {
    await d?.stop();
    fake?.close();
    await bus?.stop();
    users?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('account: an enabled user passes; a disabled one is refused (PAM_PERM_DENIED) and told why through the conversation', async () => {
    expect(await pamtester('sshd', alice.name, ['acct_mgmt'], ['rhost=192.0.2.9'])).toMatchObject({ code: 0 });
    const r = await pamtester('sshd', dis.name, ['acct_mgmt'], ['rhost=192.0.2.9']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('diycloud: account disabled by the diycloud administrator');
    expect(r.stdout + r.stderr).toMatch(/Permission denied/);
  });

  it('open_session: the limits are on the slice and the PAM application itself is placed (OpenSessionHere); close_session records the close', async () => {
    const before = fake.transients.length;
    const r = await pamtester('su-l', alice.name, ['open_session'], ['tty=pts/4']);
    expect(r.code).toBe(0);
    expect(fake.props(alice.uid)).toMatchObject({ CPUQuotaPerSecUSec: 500_000n, MemoryMax: 256n * 1024n ** 2n });
    expect(openRows(alice.uid)).toEqual([{ service: 'su-l', tty: 'pts/4', rhost: '' }]);
    // the caller is pamtester, the process the module runs in: it (not its parent, the test's node) went into a scope
    const moved = new RegExp(`uid ${alice.uid}: moved login process ([0-9]+) into its cgroup \\(systemd\\) uid=${alice.uid} pid=\\1 comm="pamtester"`).exec(d.log());
    expect(moved).not.toBeNull();
    const scopes = fake.transients.slice(before).filter((t) => t.unit.endsWith('.scope'));
    expect(scopes).toMatchObject([{ slice: `user-${alice.uid}.slice`, pids: [Number(moved![1])] }]);
    expect(Number(moved![1])).not.toBe(process.pid);
    const c = await pamtester('su-l', alice.name, ['close_session'], ['tty=pts/4']);
    expect(c.code).toBe(0);
    expect(openRows(alice.uid)).toEqual([]);
  });

  it('without "close" (the shipped line: logind reports session ends) close_session calls nothing', async () => {
    stack(d.configPath, ['login'], false);
    try {
      expect((await pamtester('login', alice.name, ['open_session'], ['tty=tty5'])).code).toBe(0);
      expect((await pamtester('login', alice.name, ['close_session'], ['tty=tty5'])).code).toBe(0);
      expect(openRows(alice.uid)).toEqual([{ service: 'login', tty: 'tty5', rhost: '' }]);
      // the same close with "close" on the line does close it
      stack(d.configPath, ['login'], true);
      expect((await pamtester('login', alice.name, ['close_session'], ['tty=tty5'])).code).toBe(0);
      expect(openRows(alice.uid)).toEqual([]);
    } finally {
      stack(d.configPath, ['login']);
    }
  });

  it('the login line reaches sshd and login on a terminal through pam_info; su stays quiet', async () => {
    const ssh = await pamtester('sshd', alice.name, ['open_session', 'close_session'], ['tty=ssh']);
    expect(ssh.code).toBe(0);
    expect(ssh.stdout + ssh.stderr).toMatch(/diycloud: 0\.5 CPU cores, memory (\S+ of )?256M/);
    const tty = await pamtester('login', alice.name, ['open_session', 'close_session'], ['tty=tty3']);
    expect(tty.stdout + tty.stderr).toMatch(/diycloud: 0\.5 CPU cores/);
    const su = await pamtester('su-l', alice.name, ['open_session', 'close_session'], ['tty=pts/4']);
    expect(su.stdout + su.stderr).not.toMatch(/CPU cores/);
  });

  it('root and users outside the managed range get no call: they pass even with FailureMode=closed and no bus', async () => {
    const c = join(work, 'nobus.conf');
    writeFileSync(c, conf('unix:path=/nonexistent/bus', 'FailureMode=closed\n'));
    stack(c, ['cron']);
    try {
      for (const u of ['root', 'daemon', 'nobody']) expect(await pamtester('cron', u, ['acct_mgmt', 'open_session', 'close_session'])).toMatchObject({ code: 0 });
      expect((await pamtester('cron', alice.name, ['acct_mgmt'])).code).not.toBe(0); // ours, and closed: refused
      expect((await pamtester('cron', alice.name, ['open_session'])).code).not.toBe(0);
    } finally {
      stack(d.configPath, ['cron']);
    }
  });

  describe('with nothing answering on the bus socket (a hung dbus-daemon)', () => {
    let silent: SilentSocket;
    let sock: string;
    beforeAll(async () => {
      silent = await startSilentSocket(join(work, 'silent.sock'));
      sock = silent.path;
    });
    afterAll(() => silent.close());

    it('the module gives up at its own deadline (no signal in the application) and follows the failure mode', async () => {
      const c = join(work, 'silent.conf');
      for (const [mode, ok] of [['open', true], ['closed', false]] as const) {
        rmSync(join(work, 'hook-unresponsive'), { force: true });
        writeFileSync(c, conf(`unix:path=${sock}`, `FailureMode=${mode}\n`));
        stack(c, ['cron']);
        const r = await pamtester('cron', alice.name, ['acct_mgmt']);
        expect(r.code === 0).toBe(ok);
        // TimeoutSec=1: 750 ms for the call; pamtester and the namespace add their own start-up
        expect(r.ms).toBeGreaterThan(700);
        expect(r.ms).toBeLessThan(1500);
      }
      // the circuit breaker: the next call waits a tenth of the budget
      const quick = await pamtester('cron', alice.name, ['acct_mgmt']);
      expect(quick.ms).toBeLessThan(700);
      rmSync(join(work, 'hook-unresponsive'), { force: true });
      stack(d.configPath, ['cron']);
    });
  });
});
