// Integration: OpenSession moves the real hook's parent into user-UID.slice (fake systemd1, real dbus-daemon, real /proc).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { addDbUser, sql } from './lib/db';
import { createHostUsers } from './lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { ProcProcessTable } from '../../src/adapters/proc/proc-table';
import { parseProcCgroup } from '../../src/core/placement';

const HOOK = join(REPO, 'dist', 'pam-hook');
const isRoot = process.getuid?.() === 0;
const conf = (address: string, rundir: string, extra = '', users = 'UIDMin=2000\nUIDMax=2999\n') =>
  `[Users]\n${users}[Backend]\nSlices=systemd\n[Hook]\nBusAddress=${address}\nTimeoutSec=2\nRuntimeDirectory=${rundir}\n${extra}`;

/** Runs `script` in a /bin/sh that the test starts (so its PID is known), with the PAM items pam_exec would pass. */
function shell(script: string, args: string[], env: Record<string, string> = {}): Promise<{ pid: number; code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script, ...args], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid!, code: code ?? -1, stdout }));
  });
}

/** The hook under a parent shell, as pam_exec runs it from su, sudo or cron (not the last command, so sh forks for it). */
const hookUnderShell = (confPath: string, user: string, before = '') =>
  shell(`${before}"$0" "$1"; echo "hook=$?"`, [HOOK, confPath], { PAM_TYPE: 'open_session', PAM_USER: user, PAM_SERVICE: 'su-l', PAM_TTY: 'pts/4', PAM_RHOST: '' });

/** A cgroup v2 hierarchy a test may use here: this host is hybrid v1 without systemd, with an empty unified mount (FACTS). */
const UNIFIED = '/sys/fs/cgroup/unified';
const unifiedUsable = isRoot && !existsSync('/run/systemd/system') && existsSync(`${UNIFIED}/cgroup.procs`) &&
  readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === UNIFIED && l.split(' ')[2] === 'cgroup2');

describe.skipIf(!isRoot)('OpenSession places the hook\'s parent (the PAM application) in user-UID.slice', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;
  let work: string;
  let alice: { name: string; uid: number };
  let bob: { name: string; uid: number };
  const scopesOf = (pid: number) => fake.transients.filter((t) => t.unit.endsWith('.scope') && t.pids.includes(pid));
  const openSessions = (uid: number) => sql<{ n: number }>(d.dbPath, 'SELECT count(*) AS n FROM sessions WHERE uid = ? AND closed_at IS NULL', uid)[0].n;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'diycloud-placement-'));
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    users = createHostUsers(2, 2460);
    [alice, bob] = users.users;
    d = await startDaemon(bus.address, conf(bus.address, work));
    addDbUser(d.dbPath, { name: alice.name, uid: alice.uid, cpu: 0.5, memory: '256M' });
  });
  afterAll(async () => {
    await d?.stop();
    fake?.close();
    await bus?.stop();
    users?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('su/cron-like parent outside any user slice: a scope in user-UID.slice holds exactly that PID before the limits are set', async () => {
    const r = await hookUnderShell(d.configPath, alice.name);
    expect(r.stdout).toBe('hook=0\n');
    const scopes = scopesOf(r.pid);
    expect(scopes).toHaveLength(1);
    expect(scopes[0]).toMatchObject({ unit: `diycloud-${alice.uid}-${r.pid}.scope`, slice: `user-${alice.uid}.slice`, pids: [r.pid] });
    const order = fake.order.filter((o) => o.endsWith(`-${r.pid}.scope`) || o === `set user-${alice.uid}.slice`);
    expect(order).toEqual([`start diycloud-${alice.uid}-${r.pid}.scope`, `set user-${alice.uid}.slice`]);
    expect(fake.props(alice.uid)).toMatchObject({ CPUQuotaPerSecUSec: 500_000n, MemoryMax: 256n * 1024n ** 2n });
    expect(openSessions(alice.uid)).toBe(1);
    expect(d.log()).toMatch(new RegExp(`uid ${alice.uid}: moved login process ${r.pid} into its cgroup \\(systemd\\) uid=${alice.uid} pid=${r.pid} comm="sh" from=`));
  });

  it('an NSS user without a row: the same, into a slice that did not exist before (a first cron job)', async () => {
    expect(fake.props(bob.uid)).toBeUndefined();
    const r = await hookUnderShell(d.configPath, bob.name);
    expect(r.stdout).toBe('hook=0\n');
    expect(scopesOf(r.pid)).toMatchObject([{ slice: `user-${bob.uid}.slice`, pids: [r.pid] }]);
    expect(fake.props(bob.uid)).toMatchObject({ CPUQuotaPerSecUSec: 1_000_000n });
  });

  it('root calling OpenSession with busctl, directly or from a shell, never gets anything moved', async () => {
    const before = fake.transients.length;
    const args = ['call', ...MGR, 'OpenSession', 'ssss', alice.name, 'sshd', 'pts/9', ''];
    expect((await busctl(bus.address, args)).code).toBe(0);
    // busctl prints the reply (the login line, `s "…"`) to /dev/null: only its exit status matters here
    const fromShell = await shell('"$0" --address="$1" -- call "$2" "$3" "$4" OpenSession ssss "$5" sshd pts/9 "" >/dev/null; echo "busctl=$?"', ['/usr/bin/busctl', bus.address, ...MGR, alice.name]);
    expect(fromShell.stdout).toBe('busctl=0\n');
    expect(fake.transients.length).toBe(before);
    expect(scopesOf(fromShell.pid)).toEqual([]);
  });

  it('root and system accounts: nothing is moved, even when a hook with a wider range asks', async () => {
    const wide = join(work, 'wide.conf');
    writeFileSync(wide, conf(bus.address, work, '', 'UIDMin=1\nUIDMax=65534\n'));
    const before = fake.transients.length;
    for (const u of ['root', 'daemon', 'nobody']) expect((await hookUnderShell(wide, u)).stdout).toBe('hook=0\n');
    expect(fake.transients.length).toBe(before);
  });

  it('a failed move is BackendFailed: closed mode refuses the session, open mode lets it through; neither records it', async () => {
    const closed = join(work, 'closed.conf');
    writeFileSync(closed, conf(bus.address, work, 'FailureMode=closed\n'));
    const before = openSessions(alice.uid);
    fake.failNextJobs(1, 'failed');
    expect((await hookUnderShell(closed, alice.name)).stdout).toBe('hook=1\n');
    fake.failNextJobs(1, 'timeout');
    expect((await hookUnderShell(d.configPath, alice.name)).stdout).toBe('hook=0\n');
    expect(openSessions(alice.uid)).toBe(before);
    expect(d.log()).toMatch(/moving PID [0-9]+ into user-2460\.slice failed/);
  });

  describe.skipIf(!unifiedUsable)('a parent already in user-UID.slice (its cgroup v2 path, on this host\'s empty unified hierarchy)', () => {
    const dir = () => join(UNIFIED, 'user.slice', `user-${alice.uid}.slice`, 'session-dctest.scope');
    const created: string[] = [];
    afterAll(() => {
      for (const p of created.reverse()) rmdirSync(p); // empty again: the shell that sat in it has exited
    });

    it('is left alone: no StartTransientUnit, and the login still gets its limits and session', async () => {
      for (const p of [join(UNIFIED, 'user.slice'), join(UNIFIED, 'user.slice', `user-${alice.uid}.slice`), dir()]) {
        if (existsSync(p)) continue;
        mkdirSync(p);
        created.push(p);
      }
      const sessions = openSessions(alice.uid);
      const before = fake.transients.length;
      // the shell moves itself into the group, then runs the hook: /proc/PID/cgroup shows 0::/user.slice/user-UID.slice/…
      const r = await hookUnderShell(d.configPath, alice.name, `echo $$ > ${dir()}/cgroup.procs && grep -q '^0::/user.slice/user-${alice.uid}.slice/' /proc/$$/cgroup && `);
      expect(r.stdout).toBe('hook=0\n');
      expect(fake.transients.length).toBe(before);
      expect(openSessions(alice.uid)).toBe(sessions + 1);
    });
  });
});

describe('ProcProcessTable reads /proc', () => {
  it('a live child: its name (as /proc/PID/comm), parent, effective UID, start time (field 22) and cgroup', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100)); // past exec, so comm is "sleep"
      const f = new ProcProcessTable().inspect(child.pid!);
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      expect(f).toEqual({
        pid: child.pid,
        comm: readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim(),
        ppid: process.pid,
        euid: process.geteuid!(),
        startTime: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]),
        cgroup: parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')),
      });
      expect(new ProcProcessTable().selfPid).toBe(process.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });
  it('null for a PID that does not exist, 0, negative or not an integer', () => {
    const t = new ProcProcessTable();
    for (const pid of [4_194_304, 0, -1, 1.5, Number.NaN]) expect(t.inspect(pid)).toBeNull();
  });
  it('reads a fixture root; a process with a file missing or unparsable is null', () => {
    const root = mkdtempSync(join(tmpdir(), 'diycloud-proc-'));
    try {
      mkdirSync(join(root, '4242'));
      writeFileSync(join(root, '4242', 'stat'), '4242 (cron) S 4000 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n');
      writeFileSync(join(root, '4242', 'status'), 'Name:\tcron\nPPid:\t4000\nUid:\t0\t0\t0\t0\n');
      writeFileSync(join(root, '4242', 'cgroup'), '1:name=systemd:/system.slice/cron.service\n');
      const t = new ProcProcessTable(root, 1);
      expect(t.inspect(4242)).toEqual({ pid: 4242, comm: 'cron', ppid: 4000, euid: 0, startTime: 777, cgroup: '/system.slice/cron.service' });
      writeFileSync(join(root, '4242', 'stat'), 'garbage');
      expect(t.inspect(4242)).toBeNull();
      rmSync(join(root, '4242', 'stat'));
      expect(t.inspect(4242)).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
