// e2e (qemu VM, real kernel, pure cgroup v2): diycloudd with the cgroupfs backend, started outside systemd's
// control of its limits (a plain process, as on a host without systemd), holds a real `su -` login to its
// allocation through diycloud/user-UID: the kernel throttles it to 0.2 cores and OOM-kills past 64M.
// systemd is PID 1 in this VM (the only init the image has), but nothing of systemd's slice machinery is
// used: the daemon writes cgroup.subtree_control, cpu.max, memory.max and cgroup.procs itself.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installIntoRootfs } from './lib/vm-install';
import { bootVm, vmUnavailableReason, type Vm } from './lib/vm';

const reason = vmUnavailableReason();
if (reason) console.warn(`\n*** SKIPPING test/e2e/vm-cgroupfs-v2.test.ts: ${reason} ***\n`);

const USER = 'vera';
const M = 1024 ** 2;
const GROUP = (uid: number) => `/sys/fs/cgroup/diycloud/user-${uid}`;
const BACKEND = 'busctl get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Backend';

/** What the login's shell prints: where it runs, its group's limits, and cpu.stat around a 3 s busy loop. */
const loginScript = (uid: number) => [
  'echo "@cgroup $(cat /proc/self/cgroup)"',
  `echo "@limits $(cat ${GROUP(uid)}/cpu.max | tr ' ' /) $(cat ${GROUP(uid)}/memory.max)"`,
  `u0=$(awk '/^usage_usec /{print $2}' ${GROUP(uid)}/cpu.stat); t0=$(awk '/^nr_throttled /{print $2}' ${GROUP(uid)}/cpu.stat); s0=$(date +%s%N)`,
  "timeout 3 sh -c 'while :; do :; done'",
  `u1=$(awk '/^usage_usec /{print $2}' ${GROUP(uid)}/cpu.stat); t1=$(awk '/^nr_throttled /{print $2}' ${GROUP(uid)}/cpu.stat); s1=$(date +%s%N)`,
  'echo "@cpu $u0 $u1 $t0 $t1 $s0 $s1"',
  // 200 MiB touched past a 64M limit: the kernel's OOM killer ends the worker
  'stress-ng --vm 1 --vm-bytes 200M --vm-keep --timeout 6s >/dev/null 2>&1',
].join('; ');

/** One shell word, single-quoted: root's shell must not expand what the login's shell is to run. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const field = (out: string, key: string): string[] => new RegExp(`^@${key} (.*)$`, 'm').exec(out)?.[1]?.split(' ') ?? [];

describe.skipIf(reason)('cgroupfs backend on a real cgroup v2 kernel (qemu VM)', () => {
  let vm: Vm | undefined;
  let uid = 0;
  let login = '';
  let failed = false;

  beforeAll(async () => {
    // Installed the documented way; the PAM line is enabled, the systemd unit is not: the daemon runs as a plain process.
    vm = await bootVm({ prepare: installIntoRootfs, chrootCommands: ['DEBIAN_FRONTEND=noninteractive pam-auth-update --enable diycloud'] });
    expect((await vm.exec('stat -fc %T /sys/fs/cgroup')).stdout.trim()).toBe('cgroup2fs');
    // nohup + setsid: the daemon outlives the ssh command; it stays in root's session scope, which carries no limits.
    await vm.exec('setsid nohup /usr/sbin/diycloudd --backend cgroupfs >/var/log/diycloudd-cgfs.log 2>&1 < /dev/null &');
    await vm.exec(`for i in $(seq 60); do ${BACKEND} >/dev/null 2>&1 && exit 0; sleep 1; done; cat /var/log/diycloudd-cgfs.log; exit 1`, { timeoutMs: 90_000 });
    uid = await vm.addUser(USER);
  }, 20 * 60_000);

  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') failed = true; });

  afterAll(async () => {
    if (failed && vm) console.warn(`VM console log kept at ${vm.consoleLog}; daemon log:\n${(await vm.exec('tail -40 /var/log/diycloudd-cgfs.log', { allowFail: true })).stdout}`);
    await vm?.stop({ keepLog: failed });
  }, 60_000);

  it('the daemon reports backend "cgroupfs (v2)"; root adopts the user and sets cpu 0.2, memory 64M', async () => {
    expect((await vm!.exec(BACKEND)).stdout.trim()).toBe('s "cgroupfs (v2)"');
    expect((await vm!.exec(`diycloudctl user adopt ${USER} --role user && diycloudctl limits set ${USER} --cpu 0.2 --memory 64M`, { allowFail: true })).code).toBe(0);
    expect((await vm!.exec(`test -e ${GROUP(uid)}`, { allowFail: true })).code).not.toBe(0); // no login yet: no group
  }, 60_000);

  it('su - USER from root\'s session: the shell runs in diycloud/user-UID with cpu.max 20000/100000 and memory.max 64M', async () => {
    const r = await vm!.exec(`su - ${USER} -s /bin/sh -c ${sq(loginScript(uid))}`, { timeoutMs: 90_000, allowFail: true });
    login = r.stdout;
    expect(r.stderr).not.toMatch(/diycloud|cannot open session|Authentication failure/);
    expect(field(login, 'cgroup')).toEqual([`0::/diycloud/user-${uid}`]);
    expect(field(login, 'limits')).toEqual(['20000/100000', String(64 * M)]);
    // the root's shell that ran su stays where it was
    expect((await vm!.exec('cat /proc/self/cgroup')).stdout.trim()).toMatch(/^0::\/user\.slice\/user-0\.slice\/session-/);
  }, 120_000);

  it('a 3 s busy loop is throttled to about 0.2 cores (nr_throttled rises)', () => {
    const [u0, u1, t0, t1, s0, s1] = field(login, 'cpu').map(Number);
    const cores = (u1! - u0!) / ((s1! - s0!) / 1000);
    console.log(`cgroupfs v2: ${cores.toFixed(3)} cores, ${t1! - t0!} throttled periods`);
    expect(cores).toBeGreaterThan(0.1);
    expect(cores).toBeLessThan(0.3);
    expect(t1! - t0!).toBeGreaterThan(10);
  });

  it('200 MiB touched past the 64M limit is OOM-killed (memory.events oom_kill)', async () => {
    // stress-ng restarts a worker the OOM killer ended and still exits 0: the kernel's counter is the proof
    // the group is still there (only Reconcile removes it, below): the kill is counted in it
    const kills = (await vm!.exec(`awk '/^oom_kill /{print $2}' ${GROUP(uid)}/memory.events`)).stdout.trim();
    expect(Number(kills)).toBeGreaterThan(0);
  }, 60_000);

  it('after logout, Reconcile removes the empty group and lists the UID in released (su makes no logind session, so no CloseSession comes)', async () => {
    expect((await vm!.exec(`cat ${GROUP(uid)}/cgroup.procs`)).stdout.trim()).toBe('');
    const report = JSON.parse((await vm!.exec('diycloudctl --json reconcile')).stdout) as { released?: number[] };
    expect(report.released).toContain(uid);
    expect((await vm!.exec(`test -e ${GROUP(uid)}`, { allowFail: true })).code).not.toBe(0);
  }, 60_000);
});
