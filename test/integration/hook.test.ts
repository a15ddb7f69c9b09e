// Integration: the real PAM hook script against the real daemon on a real dbus-daemon (fake systemd1).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { startSilentSocket, type SilentSocket } from './lib/silent-socket';
import { run, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { addDbUser, sql } from './lib/db';
import { createHostUsers } from './lib/host-users';
import { startSyslogCapture, type SyslogCapture } from './lib/syslog-capture';
import { runInMountNamespace } from './lib/mount-ns';
import { parseLoginDefs } from '../../src/core/ini';
import { parseConfig } from '../../src/core/config';

const HOOK = join(REPO, 'dist', 'pam-hook');
const isRoot = process.getuid?.() === 0;

/** The hook's run directory (circuit-breaker marker) for this test run. */
let rundir = '/nonexistent';

/** `users` is the [Users] section's body; `extra` goes into [Hook]. */
function hookConf(address: string, extra = '', users = 'UIDMin=2000\nUIDMax=2999\n'): string {
  return `[Users]\n${users}[Backend]\nSlices=systemd\n[Hook]\nBusAddress=${address}\nTimeoutSec=1\nRuntimeDirectory=${rundir}\n${extra}`;
}

/** Runs the hook as pam_exec would: PAM items in the environment, the config path as argv[1]. */
function hook(conf: string, env: Record<string, string>) {
  return run(HOOK, [conf], { env: { PATH: '/usr/bin:/bin', ...env }, timeoutMs: 10_000 });
}

describe.skipIf(!isRoot)('the PAM hook against the real daemon', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;
  let alice: { name: string; uid: number };
  let dis: { name: string; uid: number };
  let conf: string;
  let work: string;
  const closedConf = () => {
    const p = join(work, 'closed.conf');
    writeFileSync(p, hookConf(bus.address, 'FailureMode=closed\n'));
    return p;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'diycloud-hook-'));
    rundir = work;
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    users = createHostUsers(3, 2200);
    [alice, dis] = users.users;
    d = await startDaemon(bus.address, hookConf(bus.address));
    conf = d.configPath;
    addDbUser(d.dbPath, { name: alice.name, uid: alice.uid, cpu: 0.5, memory: '256M' });
    addDbUser(d.dbPath, { name: dis.name, uid: dis.uid, active: false });
  });
  afterAll(async () => {
    await d?.stop();
    fake?.close();
    await bus?.stop();
    users?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('account phase: an enabled user passes, a disabled user is refused with the reason on stdout', async () => {
    expect(await hook(conf, { PAM_TYPE: 'account', PAM_USER: alice.name, PAM_SERVICE: 'sshd', PAM_RHOST: '192.0.2.9' })).toMatchObject({ code: 0 });
    const r = await hook(conf, { PAM_TYPE: 'account', PAM_USER: dis.name, PAM_SERVICE: 'sshd', PAM_RHOST: '192.0.2.9' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('diycloud: account disabled by the diycloud administrator\n');
  });

  it('open_session puts the allocation on the slice before returning; close_session records the close', async () => {
    const r = await hook(conf, { PAM_TYPE: 'open_session', PAM_USER: alice.name, PAM_SERVICE: 'sshd', PAM_TTY: 'ssh', PAM_RHOST: '192.0.2.9' });
    expect(r.code).toBe(0);
    expect(fake.props(alice.uid)).toMatchObject({ CPUQuotaPerSecUSec: 500_000n, MemoryMax: 256n * 1024n ** 2n });
    expect(sql(d.dbPath, 'SELECT service, tty, rhost FROM sessions WHERE uid = ? AND closed_at IS NULL', alice.uid)).toEqual([{ service: 'sshd', tty: 'ssh', rhost: '192.0.2.9' }]);
    expect((await hook(conf, { PAM_TYPE: 'close_session', PAM_USER: alice.name, PAM_SERVICE: 'sshd', PAM_TTY: 'ssh', PAM_RHOST: '192.0.2.9' })).code).toBe(0);
    await expect.poll(() => sql(d.dbPath, 'SELECT count(*) AS n FROM sessions WHERE uid = ? AND closed_at IS NULL', alice.uid), { timeout: 5000 }).toEqual([{ n: 0 }]);
  });

  it('an NSS user without a database row gets the default allocation through the hook', async () => {
    const carol = users.users[2];
    expect((await hook(conf, { PAM_TYPE: 'open_session', PAM_USER: carol.name, PAM_SERVICE: 'login', PAM_TTY: 'tty1' })).code).toBe(0);
    expect(fake.props(carol.uid)).toMatchObject({ CPUQuotaPerSecUSec: 1_000_000n });
  });

  describe('root, system accounts and garbage make no D-Bus call', () => {
    let server: Server;
    let connections = 0;
    let sock: string;
    beforeAll(async () => {
      sock = join(work, 'counting.sock');
      server = createServer((s: Socket) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((r) => server.listen(sock, r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it.each([
      ['root', { PAM_TYPE: 'open_session', PAM_USER: 'root' }],
      ['a system account (daemon, uid 1)', { PAM_TYPE: 'account', PAM_USER: 'daemon' }],
      ['a user unknown to NSS', { PAM_TYPE: 'open_session', PAM_USER: 'nosuchuserdc' }],
      ['an unknown PAM_TYPE', { PAM_TYPE: 'auth', PAM_USER: 'x' }],
      ['a dash-leading user', { PAM_TYPE: 'account', PAM_USER: '-rf' }],
      ['a path as user', { PAM_TYPE: 'account', PAM_USER: '../../etc/passwd' }],
      ['command substitution as user', { PAM_TYPE: 'account', PAM_USER: '$(touch /tmp/diycloud-pwned)' }],
      ['an empty user', { PAM_TYPE: 'open_session', PAM_USER: '' }],
      ['a 100-character user', { PAM_TYPE: 'open_session', PAM_USER: 'a'.repeat(100) }],
    ])('%s: exit 0 in open mode, no connection', async (_l, env) => {
      const c = join(work, 'count.conf');
      writeFileSync(c, hookConf(`unix:path=${sock}`));
      connections = 0;
      const r = await hook(c, env as Record<string, string>);
      expect(r.code).toBe(0);
      expect(connections).toBe(0);
      expect(existsSync('/tmp/diycloud-pwned')).toBe(false);
    });
  });

  it('garbage in PAM_RHOST and PAM_TTY is never executed, and the slice still gets its limits', async () => {
    rmSync('/tmp/diycloud-pwned', { force: true });
    sql(d.dbPath, "UPDATE resource_allocations SET cpu_limit = 0.75 WHERE user_id = (SELECT id FROM users WHERE uid = ?)", alice.uid);
    const r = await hook(conf, { PAM_TYPE: 'open_session', PAM_USER: alice.name, PAM_SERVICE: 'sshd', PAM_TTY: ';rm -rf /tmp/x\n', PAM_RHOST: '$(touch /tmp/diycloud-pwned)`id`' });
    expect(r.code).toBe(0);
    expect(existsSync('/tmp/diycloud-pwned')).toBe(false);
    expect(fake.props(alice.uid)?.CPUQuotaPerSecUSec).toBe(750_000n);
    const rows = sql<{ tty: string; rhost: string }>(d.dbPath, 'SELECT tty, rhost FROM sessions WHERE uid = ? ORDER BY id DESC LIMIT 1', alice.uid);
    expect(rows).toEqual([{ tty: '?', rhost: '?' }]);
  });

  it('closed mode: a malformed user name is refused in the account phase', async () => {
    expect((await hook(closedConf(), { PAM_TYPE: 'account', PAM_USER: 'Bad User' })).code).toBe(1);
  });

  describe('everything the hook logs is escaped and bounded (syslog captured in a private mount namespace)', () => {
    let cap: SyslogCapture;
    beforeAll(async () => void (cap = await startSyslogCapture()));
    afterAll(() => cap?.stop());
    /** Runs the hook; returns its exit status and the records containing `mark` (waiting for the first). */
    async function logged(c: string, env: Record<string, string>, mark: string) {
      const r = await cap.run(HOOK, [c], { PATH: '/usr/bin:/bin', ...env });
      const mine = () => cap.records().filter((x) => x.includes(mark));
      await expect.poll(() => mine().length, { timeout: 5000 }).toBeGreaterThan(0);
      return { code: r.code, records: mine() };
    }
    const printable = /^[\x20-\x7e]*$/; // no newline, no control byte, nothing above ASCII

    it('a PAM_USER with a newline arrives as one record, the newline as \\x0a', async () => {
      const r = await logged(conf, { PAM_TYPE: 'account', PAM_USER: 'x1\nFORGED sshd: Accepted root' }, 'FORGED');
      expect(r.code).toBe(0);
      expect(r.records).toHaveLength(1);
      expect(r.records[0]).toMatch(printable);
      expect(r.records[0]).toContain('account of user x1\\x0aFORGED sshd: Accepted root allowed (failure mode open): invalid user name');
    });

    it('a backslash is doubled, so an escape cannot be forged either', async () => {
      const r = await logged(conf, { PAM_TYPE: 'account', PAM_USER: 'x2\\x0aFAKE' }, 'FAKE');
      expect(r.records[0]).toContain('of user x2\\\\x0aFAKE allowed');
    });

    it('config values: control and non-ASCII bytes are escaped; a long value is cut to a bounded record', async () => {
      const c = join(work, 'esc.conf');
      writeFileSync(c, hookConf(bus.address, 'FailureMode=op\x1b[2Jen\xe9\n'), 'latin1');
      const r = await logged(c, { PAM_TYPE: 'account', PAM_USER: 'root' }, 'bad FailureMode');
      expect(r.records[0]).toMatch(printable);
      expect(r.records[0]).toContain("bad FailureMode 'op\\x1b[2Jen\\xe9' in ");
      writeFileSync(c, hookConf(bus.address, `FailureMode=LONG${'\x01'.repeat(900)}\n`));
      const long = await logged(c, { PAM_TYPE: 'account', PAM_USER: 'root' }, 'LONG');
      expect(long.records[0]).toMatch(printable);
      const msg = long.records[0].slice(long.records[0].indexOf(']: ') + 3);
      expect(msg.length).toBeLessThanOrEqual(1023);
      expect(msg.startsWith("bad FailureMode 'LONG\\x01\\x01")).toBe(true);
      expect(msg.endsWith('...')).toBe(true);
    });
  });

  describe('with the daemon frozen (SIGSTOP)', () => {
    beforeAll(() => void d.child.kill('SIGSTOP'));
    afterAll(() => {
      d.child.kill('SIGCONT');
      rmSync(join(rundir, 'hook-unresponsive'), { force: true });
    });

    it('open mode: a whole login (account + session) proceeds within the budget (TimeoutSec=1)', async () => {
      const account = await hook(conf, { PAM_TYPE: 'account', PAM_USER: alice.name, PAM_SERVICE: 'sshd' });
      expect(account.code).toBe(0);
      expect(account.ms).toBeGreaterThan(600); // it really waited for the daemon
      expect(existsSync(join(rundir, 'hook-unresponsive'))).toBe(true);
      const session = await hook(conf, { PAM_TYPE: 'open_session', PAM_USER: alice.name, PAM_SERVICE: 'sshd' });
      expect(session.code).toBe(0);
      expect(session.ms).toBeLessThan(400); // the circuit breaker: later calls wait a tenth of the budget
      expect(account.ms + session.ms).toBeLessThan(1000 + 150);
    });

    it('closed mode: the account phase is refused within the budget', async () => {
      const r = await hook(closedConf(), { PAM_TYPE: 'account', PAM_USER: alice.name, PAM_SERVICE: 'sshd' });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(1000);
    });
  });

  it('after the daemon thaws, the first successful call clears the marker', async () => {
    writeFileSync(join(rundir, 'hook-unresponsive'), '');
    expect((await hook(conf, { PAM_TYPE: 'account', PAM_USER: alice.name, PAM_SERVICE: 'sshd' })).code).toBe(0);
    expect(existsSync(join(rundir, 'hook-unresponsive'))).toBe(false);
  });

  describe('with nothing answering on the bus socket (a hung dbus-daemon)', () => {
    let silent: SilentSocket;
    let sock: string;
    beforeAll(async () => {
      silent = await startSilentSocket(join(work, 'silent.sock'));
      sock = silent.path;
    });
    afterAll(() => silent.close());

    it('the hook kills its own call at the budget and follows the failure mode', async () => {
      const c = join(work, 'silent.conf');
      writeFileSync(c, hookConf(`unix:path=${sock}`));
      const open = await hook(c, { PAM_TYPE: 'account', PAM_USER: alice.name });
      expect(open.code).toBe(0);
      expect(open.ms).toBeLessThan(1000);
      expect(open.ms).toBeGreaterThan(600);
      rmSync(join(rundir, 'hook-unresponsive'), { force: true });
      writeFileSync(c, hookConf(`unix:path=${sock}`, 'FailureMode=closed\n'));
      const closed = await hook(c, { PAM_TYPE: 'account', PAM_USER: alice.name });
      expect(closed.code).toBe(1);
      expect(closed.ms).toBeLessThan(1000);
      rmSync(join(rundir, 'hook-unresponsive'), { force: true });
    });
  });

  describe('with the daemon stopped', () => {
    beforeAll(async () => {
      await d.stop();
      // "stopped" means the bus no longer routes to it: wait until its name is released.
      for (let i = 0; i < 100; i++) {
        const r = await run('/usr/bin/busctl', [`--address=${bus.address}`, 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.diycloud.Manager1']);
        if (r.stdout.trim() === 'b false') break;
        await new Promise((res) => setTimeout(res, 20));
      }
    });

    it('open mode: logins proceed at once; closed mode: the account phase and session open are refused', async () => {
      const r = await hook(conf, { PAM_TYPE: 'account', PAM_USER: alice.name });
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(500);
      const c = closedConf();
      expect((await hook(c, { PAM_TYPE: 'account', PAM_USER: alice.name })).code).toBe(1);
      expect((await hook(c, { PAM_TYPE: 'open_session', PAM_USER: alice.name })).code).toBe(1);
      expect((await hook(c, { PAM_TYPE: 'close_session', PAM_USER: alice.name })).code).toBe(0);
    });

    it('closed mode: users above UIDMax are not ours, so they are skipped (exit 0) while users inside the range are refused', async () => {
      const c = closedConf(); // nobody (65534) is above UIDMax=2999
      expect((await hook(c, { PAM_TYPE: 'account', PAM_USER: 'nobody' })).code).toBe(0);
      expect((await hook(c, { PAM_TYPE: 'open_session', PAM_USER: 'nobody' })).code).toBe(0);
      // UIDMax is inclusive: with UIDMax=2201, dis (2201) is ours and carol (2202) is not.
      const narrow = join(work, 'narrow.conf');
      writeFileSync(narrow, hookConf(bus.address, 'FailureMode=closed\n', 'UIDMin=2000\nUIDMax=2201\n'));
      expect((await hook(narrow, { PAM_TYPE: 'account', PAM_USER: users.users[2].name })).code).toBe(0);
      expect((await hook(narrow, { PAM_TYPE: 'account', PAM_USER: dis.name })).code).toBe(1);
      expect((await hook(narrow, { PAM_TYPE: 'account', PAM_USER: alice.name })).code).toBe(1);
    });

    it.skipIf(!existsSync('/etc/login.defs')).each([
      ['UID_MAX', 'UID_MIN 1000\nUID_MAX 2201\n'],
      ['the first UID_MAX wins', 'UID_MAX 2201\nUID_MAX 70000\n'],
      ['a trailing comment: no match, 60000', 'UID_MAX 2201 # ours\n'],
      ['CRLF lines', 'UID_MIN\t2200\r\nUID_MAX 2201\r\n'],
      ['UID_MIN above UID_MAX: refused', 'UID_MIN 2203\nUID_MAX 2202\n'],
      ['no keys: 1000-60000', '# UID_MAX 2201\n'],
    ])('without [Users] the range is read from /etc/login.defs exactly as the daemon reads it (%s)', async (_l, defs) => {
      // The hook's /etc/login.defs path is fixed: a private mount namespace binds a test file over it.
      const file = join(work, 'login.defs');
      writeFileSync(file, defs);
      const c = join(work, 'defs.conf');
      writeFileSync(c, hookConf(bus.address, 'FailureMode=closed\n', ''));
      const { uidMin, uidMax } = parseLoginDefs(defs);
      let valid = true; // would the daemon start with this login.defs?
      try {
        parseConfig(readFileSync(c, 'utf8'), { uidMin, uidMax });
      } catch {
        valid = false;
      }
      for (const u of [{ name: 'daemon', uid: 1 }, alice, dis, users.users[2], { name: 'nobody', uid: 65534 }]) {
        const r = await runInMountNamespace([[file, '/etc/login.defs']], HOOK, [c], { PAM_TYPE: 'account', PAM_USER: u.name });
        expect({ user: u.name, code: r.code }).toEqual({ user: u.name, code: valid && (u.uid < uidMin || u.uid > uidMax) ? 0 : 1 });
      }
    });

    it.each([
      ['UIDMax not a UID', 'UIDMin=2000\nUIDMax=29x9\n', ''],
      ['UIDMax above 4294967294', 'UIDMin=2000\nUIDMax=4294967295\n', ''],
      ['UIDMax below UIDMin', 'UIDMin=2000\nUIDMax=1999\n', ''],
      ['UIDMin 0', 'UIDMin=0\nUIDMax=2999\n', ''],
      ['UIDMin empty', 'UIDMin=\nUIDMax=2999\n', ''],
      ['UIDMax set twice', 'UIDMin=2000\nUIDMax=2999\nUIDMax=2999\n', ''],
      ['UIDMax outside [Users]', 'UIDMin=2000\n', 'UIDMax=2999\n'],
    ])('closed mode, a range the daemon refuses (%s): no one is skipped by UID, so nobody and system accounts are refused', async (_l, range, inHook) => {
      const text = hookConf(bus.address, `FailureMode=closed\n${inHook}`, range);
      expect(() => parseConfig(text, { uidMin: 1000, uidMax: 60000 })).toThrow(); // the daemon would not start with it
      const c = join(work, 'badrange.conf');
      writeFileSync(c, text);
      expect((await hook(c, { PAM_TYPE: 'account', PAM_USER: 'nobody' })).code).toBe(1);
      expect((await hook(c, { PAM_TYPE: 'account', PAM_USER: 'daemon' })).code).toBe(1);
      expect((await hook(c, { PAM_TYPE: 'account', PAM_USER: 'root' })).code).toBe(0);
    });
  });
});
