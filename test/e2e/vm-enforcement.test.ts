// e2e (qemu VM, real kernel): a login's user-UID.slice limits are enforced by the kernel (CPU throttling, memory OOM kill).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootVm, vmUnavailableReason, type Vm } from './lib/vm';

const reason = vmUnavailableReason();
if (reason) console.warn(`\n*** SKIPPING test/e2e/vm-enforcement.test.ts: ${reason} ***\n`);

const USER = 'alice';
const CPU_QUOTA_USEC_PER_SEC = 500_000; // 0.5 cores
const MEMORY_MAX = 100 * 1024 * 1024;

/**
 * How the user's slice gets its limits. Today: set by hand over D-Bus, the same SetUnitProperties call
 * diycloudd makes. To test diycloud itself, swap in a provider whose prepare() installs the project into
 * the rootfs (packaging/install.sh, Node 18 runtime modules), whose setup() starts diycloudd, and whose
 * applyLimits() records the allocation (diycloudctl) and then logs the user in so the PAM hook fires.
 */
interface LimitsProvider {
  prepare?: (rootDir: string) => Promise<void>;
  setup?: (vm: Vm) => Promise<void>;
  applyLimits: (vm: Vm, user: string, uid: number) => Promise<void>;
}

const manualSetUnitProperties: LimitsProvider = {
  async applyLimits(vm, _user, uid) {
    await vm.exec(
      `busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager ` +
        `SetUnitProperties 'sba(sv)' user-${uid}.slice true 2 ` +
        `CPUQuotaPerSecUSec t ${CPU_QUOTA_USEC_PER_SEC} MemoryMax t ${MEMORY_MAX}`,
    );
  },
};

const provider: LimitsProvider = manualSetUnitProperties;

interface CpuRun { cores: number; throttled: number; wallS: number }

/** Two CPU-bound workers for `seconds` in a login session of `user`; usage read from the slice's cpu.stat. */
async function cpuRun(vm: Vm, user: string, uid: number, seconds: number): Promise<CpuRun> {
  const stat = `/sys/fs/cgroup/user.slice/user-${uid}.slice/cpu.stat`;
  const field = (f: string) => `$(awk '/^${f} /{print $2}' ${stat})`;
  const r = await vm.execAs(user,
    `u0=${field('usage_usec')}; t0=${field('nr_throttled')}; s0=$(date +%s%N); ` +
      `stress-ng --cpu 2 --timeout ${seconds}s --quiet; ` +
      `s1=$(date +%s%N); u1=${field('usage_usec')}; t1=${field('nr_throttled')}; ` +
      `echo "CPU $u0 $u1 $t0 $t1 $s0 $s1"`,
    { timeoutMs: (seconds + 60) * 1000 });
  const m = r.stdout.match(/^CPU (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/m);
  if (!m) throw new Error(`unexpected output: ${r.stdout} ${r.stderr}`);
  const [u0, u1, t0, t1, s0, s1] = m.slice(1).map(Number);
  const wallUs = (s1! - s0!) / 1000;
  return { cores: (u1! - u0!) / wallUs, throttled: t1! - t0!, wallS: wallUs / 1e6 };
}

describe.skipIf(reason)('kernel enforces user-slice limits (qemu VM)', () => {
  let vm: Vm | undefined;
  let uid = 0;
  let keepalivePid = '';
  let baseline: CpuRun;
  let failed = false;

  beforeAll(async () => {
    const t0 = Date.now();
    vm = await bootVm({ prepare: provider.prepare });
    console.log(`VM up: timings ${JSON.stringify(vm.timings)} (total ${Date.now() - t0} ms), console ${vm.consoleLog}`);
    await provider.setup?.(vm);
    uid = await vm.addUser(USER);
    // A real sshd login (PAM, pam_systemd): leaves a long-lived process in her session.
    await vm.execAs(USER, 'nohup sleep 1000 >/dev/null 2>&1 &');
    keepalivePid = (await vm.exec(`pgrep -u ${USER} -x sleep`)).stdout.trim();
    baseline = await cpuRun(vm, USER, uid, 5); // control: the same load without limits
    console.log(`baseline without limits: ${JSON.stringify(baseline)}`);
    await provider.applyLimits(vm, USER, uid);
  }, 20 * 60_000);

  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') failed = true; });

  afterAll(async () => {
    if (failed && vm) console.warn(`VM console log kept at ${vm.consoleLog}`);
    await vm?.stop({ keepLog: failed });
  }, 60_000);

  it('logs the user in for real: a logind session inside user-UID.slice', async () => {
    const sessions = await vm!.exec(`loginctl list-sessions --no-legend | awk '$3=="${USER}"'`);
    expect(sessions.stdout.trim()).not.toBe('');
    const cg = await vm!.exec(`cat /proc/${keepalivePid}/cgroup`);
    expect(cg.stdout).toMatch(new RegExp(`^0::/user\\.slice/user-${uid}\\.slice/session-\\d+\\.scope$`, 'm'));
  }, 60_000);

  it('the limits reach the cgroup v2 files of the slice', async () => {
    const dir = `/sys/fs/cgroup/user.slice/user-${uid}.slice`;
    const r = await vm!.exec(`stat -fc %T /sys/fs/cgroup; cat ${dir}/cpu.max ${dir}/memory.max`);
    const [fs, cpuMax, memMax] = r.stdout.trim().split('\n');
    expect(fs).toBe('cgroup2fs');
    const [quota, period] = cpuMax!.split(' ').map(Number);
    expect(quota! / period!).toBeCloseTo(CPU_QUOTA_USEC_PER_SEC / 1e6, 3);
    expect(Number(memMax)).toBe(MEMORY_MAX);
  }, 60_000);

  it('throttles two busy loops to about 0.5 cores', async () => {
    const limited = await cpuRun(vm!, USER, uid, 6);
    console.log(`with CPUQuota 50%: ${JSON.stringify(limited)}; baseline ${JSON.stringify(baseline)}`);
    expect(limited.throttled).toBeGreaterThan(0);
    expect(limited.cores).toBeLessThanOrEqual(0.5 * 1.25); // TCG timing is coarse: 25 % tolerance
    expect(limited.cores).toBeGreaterThan(0.2); // the load did run
    // Control: without the quota the same load used clearly more (even on a busy 2-core host).
    expect(baseline.cores).toBeGreaterThan(limited.cores * 1.3);
  }, 5 * 60_000);

  it('OOM-kills a process that allocates past MemoryMax, and only that one', async () => {
    const events = `/sys/fs/cgroup/user.slice/user-${uid}.slice/memory.events`;
    const oomKills = `$(awk '/^oom_kill /{print $2}' ${events})`;
    // 300 MiB in 8 MiB touched chunks; exits 0 ("ALLOCATED") if nothing stops it.
    const alloc = `node -e 'const a=[];for(let i=0;i<38;i++)a.push(Buffer.alloc(8<<20,1));console.log("ALLOCATED")'`;
    const r = await vm!.execAs(USER,
      `k0=${oomKills}; ${alloc}; rc=$?; k1=${oomKills}; echo "MEM $rc $k0 $k1"`, { timeoutMs: 180_000 });
    const m = r.stdout.match(/^MEM (\d+) (\d+) (\d+)$/m);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const [rc, k0, k1] = m!.slice(1).map(Number);
    expect(r.stdout).not.toContain('ALLOCATED');
    expect(rc).toBe(128 + 9); // SIGKILL
    expect(k1!).toBeGreaterThan(k0!);
    // The kernel says it was the memcg of her slice that ran out.
    const klog = await vm!.exec(`dmesg | grep -E 'oom-kill:.*oom_memcg=/user.slice/user-${uid}.slice' | tail -1`);
    expect(klog.stdout).toContain(`task=node`);
    // Her other process in the same slice survived.
    const alive = await vm!.exec(`ps -o pid=,comm= -p ${keepalivePid}`, { allowFail: true });
    expect(alive.stdout).toMatch(/sleep/);
  }, 5 * 60_000);
});
