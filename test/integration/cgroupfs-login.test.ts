// Integration: a real `su -` through PAM with pam_diycloud.so loaded into su, against diycloudd with the cgroupfs backend on this host's real cgroup v1 hierarchy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { runInMountNamespace } from './lib/mount-ns';
import { sql } from './lib/db';
import { createHostUsers, type HostUser } from './lib/host-users';
import { probeCgroupfs, type V1Probe } from '../../src/adapters/cgroupfs/hierarchy';

const MODULE = join(REPO, 'dist', 'pam_diycloud.so');
const UID_MIN = 4500; // outside cgroupfs-v1.test.ts's 4400-4499, whose cleanup removes every group in its range
const UID_MAX = 4509;
const M = 1024 ** 2;
const isRoot = process.getuid?.() === 0;
const probe = probeCgroupfs();
const v1 = probe.version === 'v1' ? probe : null;
const skip = !isRoot ? 'not root' : !v1 ? `no cgroup v1 cpu and memory hierarchy (${probe.version === null ? probe.reason : `the host has cgroup ${probe.version}`})` : null;
if (skip) console.warn(`*** cgroupfs login integration test SKIPPED: ${skip} ***`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The mount points of the v1 hierarchies diycloud uses (cpu, cpuacct, memory, pids; some may share one). */
const mounts = (): string[] => (v1 ? [...new Set(Object.values(v1.hierarchies).filter((h) => h !== null).map((h) => h!.mountPoint))] : []);
const userGroup = (mount: string, uid: number) => `${mount}/diycloud/user-${uid}`;

/**
 * su cannot be given a PAM service: `su -` always uses /etc/pam.d/su-l. So the test's service
 * file is bind-mounted over su-l in a private mount namespace (lib/mount-ns.ts) for that one su
 * only; the host's /etc/pam.d is never written and no other login on this machine runs the gate.
 * The module runs inside su at account, open (OpenSessionHere: su itself is placed) and close (CloseSession).
 */
const pamService = (conf: string) => `#%PAM-1.0
auth     sufficient pam_rootok.so
auth     required   pam_deny.so
account  required   ${MODULE} conf=${conf}
account  required   pam_permit.so
session  required   ${MODULE} conf=${conf} close
session  required   pam_unix.so
`;

/**
 * What the login's shell runs (as the user): where it is, what its groups hold, a 3 s busy loop
 * between two readings of the kernel's counters, then a Node process touching 300 MiB in 1 MiB
 * Buffers (it prints "survived" only if the kernel let it). Lines starting with @ are parsed.
 */
function loginScript(h: V1Probe['hierarchies'], uid: number): string {
  const cpu = userGroup(h.cpu.mountPoint, uid);
  const acct = userGroup((h.cpuacct ?? h.cpu).mountPoint, uid);
  const mem = userGroup(h.memory.mountPoint, uid);
  const counters = `$(date +%s%N) $(cat ${acct}/cpuacct.usage) $(sed -n 's/^nr_throttled //p' ${cpu}/cpu.stat)`;
  const hog = "const a=[];for(let i=0;i<300;i++)a.push(Buffer.alloc(1<<20,1));process.stdout.write('survived\\n')";
  return [
    'echo "@uid $(id -u)"',
    'sed "s/^/@cgroup /" /proc/self/cgroup',
    `echo "@quota $(cat ${cpu}/cpu.cfs_quota_us) $(cat ${cpu}/cpu.cfs_period_us)"`,
    `echo "@limit $(cat ${mem}/memory.limit_in_bytes)"`,
    `echo "@before ${counters}"`,
    "/usr/bin/timeout 3 /bin/sh -c 'while :; do :; done'",
    `echo "@after ${counters}"`,
    `${process.execPath} -e "${hog}"`,
    'echo "@hog $?"',
    `echo "@failcnt $(cat ${mem}/memory.failcnt)"`,
  ].join('\n');
}

/** The values after "@key " on the first such line of the login's output. */
const field = (out: string, key: string): string[] => new RegExp(`^@${key} (.*)$`, 'm').exec(out)?.[1]?.split(' ') ?? [];

describe.skipIf(skip !== null)('a real su - login with pam_diycloud.so, diycloudd on cgroupfs (v1): placed, throttled, OOM-killed, released', () => {
  let bus: TestBus;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;
  let user: HostUser;
  let work: string;
  let pamFile: string;
  const h = () => v1!.hierarchies;
  /** Mount points whose diycloud/ did not exist before this run: removed again when empty. */
  const parentsWeMade: string[] = [];
  let login: { code: number; stdout: string; stderr: string } | undefined;

  beforeAll(async () => {
    for (const m of mounts()) if (!existsSync(`${m}/diycloud`)) parentsWeMade.push(m);
    work = mkdtempSync(join(tmpdir(), 'diycloud-cgfs-login-'));
    bus = await startTestBus();
    users = createHostUsers(1, UID_MIN);
    user = users.users[0]!;
    // FailureMode=closed: a failed OpenSession (a move or a limit that did not happen) refuses the login, so it cannot pass unnoticed.
    d = await startDaemon(
      bus.address,
      `[Users]\nUIDMin=${UID_MIN}\nUIDMax=${UID_MAX}\n[Backend]\nCgroups=cgroupfs\n[Quota]\nPaths=\n` +
        `[Hook]\nBusAddress=${bus.address}\nTimeoutSec=5\nRuntimeDirectory=${work}\nFailureMode=closed\n`,
    );
    pamFile = join(work, 'su-l');
    writeFileSync(pamFile, pamService(d.configPath));
  }, 60_000);

  afterAll(async () => {
    // Anything of ours still running (a login cut short) is killed; then the groups go, then the rest.
    for (const m of mounts()) {
      for (let uid = UID_MIN; uid <= UID_MAX; uid++) {
        const g = userGroup(m, uid);
        if (!existsSync(g)) continue;
        for (const pid of readFileSync(`${g}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* it exited meanwhile */
          }
        }
        for (let i = 0; existsSync(g) && i < 100; i++) {
          try {
            rmdirSync(g);
          } catch {
            await sleep(20); // a killed task takes a moment to leave
          }
        }
      }
      if (parentsWeMade.includes(m) && existsSync(`${m}/diycloud`) && readdirSync(`${m}/diycloud`, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(`${m}/diycloud`);
    }
    await d?.stop();
    await bus?.stop();
    users?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('the daemon reports backend "cgroupfs (v1)"; root adopts the user and sets cpu 0.2, memory 64M over the bus', async () => {
    expect((await busctl(bus.address, ['get-property', ...MGR, 'Backend'])).stdout.trim()).toBe('s "cgroupfs (v1)"');
    expect(await busctl(bus.address, ['call', ...MGR, 'AdoptUser', 'ss', user.name, 'user'])).toMatchObject({ code: 0 });
    expect(await busctl(bus.address, ['call', ...MGR, 'SetLimits', 'sa{sv}', user.name, '2', 'cpu', 'd', '0.2', 'memory', 's', '64M'])).toMatchObject({ code: 0 });
    expect(sql(d.dbPath, 'SELECT a.cpu_limit AS cpu, a.mem_limit AS mem FROM users u JOIN resource_allocations a ON a.user_id = u.id WHERE u.uid = ?', user.uid)).toEqual([{ cpu: 0.2, mem: expect.stringMatching(/^(64M|67108864)$/) }]);
    // no login yet: no group for the user
    for (const m of mounts()) expect(existsSync(userGroup(m, user.uid))).toBe(false);
  });

  it('su - USER: the login\'s shell runs in diycloud/user-UID of cpu, cpuacct, memory and pids, with the quota and limit set', async () => {
    login = await runInMountNamespace([[pamFile, '/etc/pam.d/su-l']], '/usr/bin/su', ['-', user.name, '-s', '/bin/sh', '-c', loginScript(h(), user.uid)], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, 60_000);
    expect(login.stderr).not.toMatch(/diycloud|cannot open session|Authentication failure/);
    expect(login.code).toBe(0);
    expect(field(login.stdout, 'uid')).toEqual([String(user.uid)]);
    const cgroupLines = login.stdout.split('\n').filter((l) => l.startsWith('@cgroup ')).map((l) => l.slice('@cgroup '.length));
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids'].filter((c) => h()[c as keyof V1Probe['hierarchies']])) {
      const line = cgroupLines.find((l) => l.split(':')[1]?.split(',').includes(c));
      expect({ controller: c, path: line?.split(':')[2] }).toEqual({ controller: c, path: `/diycloud/user-${user.uid}` });
    }
    expect(field(login.stdout, 'quota')).toEqual(['20000', '100000']); // 0.2 cores: 20 ms per 100 ms period
    expect(field(login.stdout, 'limit')).toEqual([String(64 * M)]);
    expect(d.log()).toMatch(new RegExp(`uid ${user.uid}: moved login process [0-9]+ into its cgroup \\(cgroupfs \\(v1\\)\\)`));
  });

  it('a 3 s busy loop in the login is throttled to about 20 % of a core (nr_throttled rises)', () => {
    expect(login?.code).toBe(0);
    const [t0, usage0, thr0] = field(login!.stdout, 'before').map(Number);
    const [t1, usage1, thr1] = field(login!.stdout, 'after').map(Number);
    const share = (usage1! - usage0!) / (t1! - t0!);
    console.log(`cgroupfs login: busy loop used ${(share * 100).toFixed(1)} % of a core over ${((t1! - t0!) / 1e9).toFixed(2)} s, throttled in ${thr1! - thr0!} periods`);
    expect(thr1! - thr0!).toBeGreaterThan(10); // ~30 periods of 100 ms; wide margin for this noisy 2-core machine
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.4); // unthrottled it would be ~1.0
  });

  it('a process in the login allocating 300 MiB past the 64M limit is OOM-killed (memory.failcnt > 0)', () => {
    expect(login?.code).toBe(0);
    expect(login!.stdout).not.toContain('survived');
    expect(field(login!.stdout, 'hog')).toEqual(['137']); // 128 + SIGKILL
    expect(Number(field(login!.stdout, 'failcnt')[0])).toBeGreaterThan(0);
  });

  it('after logout the session is closed (CloseSession) and the empty groups are removed shortly after, without a Reconcile', async () => {
    expect(login?.code).toBe(0);
    // The close may still be on its way when su returns: wait for the row to be closed.
    const open = () => sql<{ n: number }>(d.dbPath, 'SELECT count(*) AS n FROM sessions WHERE uid = ? AND closed_at IS NULL', user.uid)[0]!.n;
    const all = () => sql<{ n: number }>(d.dbPath, 'SELECT count(*) AS n FROM sessions WHERE uid = ?', user.uid)[0]!.n;
    for (let i = 0; open() > 0 && i < 100; i++) await sleep(50);
    expect({ sessions: all(), open: open() }).toEqual({ sessions: 1, open: 0 });
    const present = () => mounts().filter((m) => existsSync(userGroup(m, user.uid)));
    // CloseSession's first release finds the group busy (su is still in
    // it); the daemon tries again 2 s later (RELEASE_RETRY_MS), without any Reconcile.
    for (let i = 0; present().length > 0 && i < 100; i++) await sleep(50);
    expect(present()).toEqual([]);
    // And Reconcile, which covers what is left after a daemon restart, finds nothing more to release.
    const r = await busctl(bus.address, ['--json=short', 'call', ...MGR, 'Reconcile']);
    expect(r.code).toBe(0);
    expect((JSON.parse(JSON.parse(r.stdout).data[0]) as { released: number[] }).released).not.toContain(user.uid);
  });
});
