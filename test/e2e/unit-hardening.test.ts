// The shipped unit's sandbox, in a real systemd container per Debian release: the system call filter is set,
// systemd-analyze security reports no unfiltered system calls and an overall exposure of at most MAX_EXPOSURE, and every
// daemon path that runs a child program still works under it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootWithDiycloud, e2eSkip, type Container, type Dist } from './lib/container';
import { MGR, q } from './lib/login-env';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];
const UNIT = '/usr/lib/systemd/system/diycloudd.service';
const USER = 'dchard1';
const PROBE_USER = 'dchprobe';
/** The groups systemd-analyze security rates under SystemCallFilter= (11 findings when nothing is filtered). */
const GROUPS = ['@clock', '@cpu-emulation', '@debug', '@module', '@mount', '@obsolete', '@privileged', '@raw-io', '@reboot', '@resources', '@swap'];

/** The most `systemd-analyze security` may rate the unit (issue 9; docs/security.md, "The unit's exposure"). */
const MAX_EXPOSURE = 2.5;

interface Finding { name: string; set: boolean; description: string }

/**
 * Runs a shell script as a oneshot unit made from the installed unit's [Service] section (the same sandbox and
 * the same system call filter, without the bus name, the state and runtime directories); returns its output.
 */
async function underUnitSandbox(c: Container, script: string): Promise<string> {
  await c.writeFile('/run/diycloud-probe.sh', script);
  await c.exec(`{ echo '[Service]'; sed -n '/^\\[Service\\]/,/^\\[/p' ${UNIT} |
      grep -vE '^(\\[|Type=|BusName=|ExecStart=|Restart|StateDirectory|RuntimeDirectory)';
    printf 'Type=oneshot\\nStandardOutput=truncate:/run/diycloud-probe.out\\nStandardError=inherit\\nExecStart=/bin/sh /run/diycloud-probe.sh\\n';
    } > /run/systemd/system/diycloud-probe.service && systemctl daemon-reload`);
  try {
    await c.exec('systemctl start diycloud-probe.service', { timeoutMs: 60_000 });
    return (await c.exec('cat /run/diycloud-probe.out')).stdout;
  } finally {
    await c.exec(`rm -f /run/systemd/system/diycloud-probe.service /run/diycloud-probe.sh /run/diycloud-probe.out;
      systemctl daemon-reload; systemctl reset-failed diycloud-probe.service 2>/dev/null; true`);
  }
}

describe.skipIf(skip).each(DISTS)('the unit filters system calls (%s)', (dist) => {
  let c: Container;
  let mainPid = '';
  const timings: Record<string, number> = {};
  const busctl = (args: string[], asUser?: string) =>
    c.exec(`${asUser ? `runuser -u ${asUser} -- ` : ''}busctl ${args.map(q).join(' ')}`, { allowFail: true });
  const shadow = async (name: string) => (await c.exec(`getent shadow ${name}`)).stdout.trim().split(':');

  beforeAll(async () => {
    const t = Date.now();
    c = await bootWithDiycloud(dist);
    await c.exec('systemctl enable --now diycloudd.service', { timeoutMs: 60_000 });
    mainPid = (await c.exec('systemctl show -p MainPID --value diycloudd')).stdout.trim();
    timings.setupMs = Date.now() - t;
  }, 900_000);

  afterAll(async () => {
    console.log(`[${dist}] unit-hardening timings (ms)`, timings);
    await c?.stop();
  }, 60_000);

  it('SystemCallFilter= is an allow list that answers EPERM, and the running daemon is under it', async () => {
    const filter = (await c.exec('systemctl show -p SystemCallFilter --value diycloudd')).stdout.trim();
    expect(filter).not.toBe('');
    expect(filter.startsWith('~')).toBe(false); // an allow list, not a deny list
    const allowed = new Set(filter.split(/\s+/));
    // what shadow-utils needs (file owners; gpasswd's setuid(0)) and what Node needs
    for (const s of ['chown', 'fchown', 'setuid', 'execve', 'clone', 'epoll_wait', 'futex', 'mprotect', 'prlimit64']) expect(allowed, s).toContain(s);
    // taken out on purpose: io_uring, @resources, the rest of @privileged, and what @system-service never had
    for (const s of ['io_uring_setup', 'io_uring_enter', 'setpriority', 'sched_setaffinity', 'capset', 'chroot', 'bpf', 'mount', 'ptrace', 'reboot', 'init_module', 'settimeofday']) {
      expect(allowed, s).not.toContain(s);
    }
    expect((await c.exec('systemctl show -p SystemCallErrorNumber --value diycloudd')).stdout.trim()).toMatch(/^(1|EPERM)$/);
    expect((await c.exec(`grep -E '^Seccomp:' /proc/${mainPid}/status`)).stdout).toMatch(/^Seccomp:\s+2$/m);
    // libuv in Node 20 (Debian 13) sets up io_uring rings unless io_uring_setup fails: none may be open
    const rings = await c.exec(`ls -l /proc/${mainPid}/fd | grep -c io_uring`, { allowFail: true });
    expect(rings.stdout.trim()).toBe('0');
  });

  it('systemd-analyze security reports no unfiltered system calls; only @privileged stays (chown, for shadow-utils)', async () => {
    const findings = JSON.parse((await c.exec('systemd-analyze security --no-pager --json=short diycloudd.service')).stdout) as Finding[];
    const syscall = findings.filter((f) => f.name.startsWith('SystemCallFilter=~@'));
    expect(syscall.map((f) => f.name.slice('SystemCallFilter=~'.length)).sort()).toEqual([...GROUPS].sort());
    for (const f of syscall) expect(f.description, f.name).not.toMatch(/does not filter system calls/);
    expect(syscall.filter((f) => !f.set).map((f) => f.name)).toEqual(['SystemCallFilter=~@privileged']);
    expect(syscall.find((f) => !f.set)?.description).toMatch(/allow list defined for service, and @privileged is included/);
    const text = (await c.exec('systemd-analyze security --no-pager diycloudd.service')).stdout;
    const exposure = /Overall exposure level for diycloudd\.service: ([\d.]+)/.exec(text)?.[1];
    expect(exposure).toBeDefined();
    console.log(`[${dist}] systemd-analyze security diycloudd.service: overall exposure ${exposure}`);
    expect(Number(exposure)).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('the sandbox settings that lower the exposure are in force for the running daemon', async () => {
    const props = (await c.exec('systemctl show -p PrivateMounts -p IPAddressDeny -p PrivateNetwork -p ProtectHome diycloudd')).stdout;
    expect(props).toMatch(/^PrivateMounts=yes$/m);
    expect(props).toMatch(/^IPAddressDeny=.*(0\.0\.0\.0\/0|any)/m);
    expect(props).toMatch(/^PrivateNetwork=yes$/m);
    expect(props).toMatch(/^ProtectHome=no$/m);
    const findings = JSON.parse((await c.exec('systemd-analyze security --no-pager --json=short diycloudd.service')).stdout) as Finding[];
    for (const name of ['PrivateMounts=', 'IPAddressDeny=']) expect(findings.find((f) => f.name === name)?.set, name).toBe(true);
    // its own mount and network namespaces, not PID 1's
    for (const ns of ['mnt', 'net']) {
      expect((await c.exec(`readlink /proc/${mainPid}/ns/${ns}`)).stdout, ns).not.toBe((await c.exec(`readlink /proc/1/ns/${ns}`)).stdout);
    }
  });

  it('every daemon path that runs a child program works under the filter', async () => {
    const t = Date.now();
    // useradd, chpasswd (getent first)
    const add = await c.exec(`printf 'first pass 1\\n' | diycloudctl --json user add ${USER} --password-stdin`, { allowFail: true });
    expect(add.code, add.stderr + add.stdout).toBe(0);
    expect((await c.exec(`stat -c '%a %U' /home/${USER}`)).stdout.trim()).toBe(`700 ${USER}`);
    // chpasswd by an administrator
    const set = await c.exec(`printf 'second pass 2\\n' | diycloudctl user passwd ${USER} --password-stdin`, { allowFail: true });
    expect(set.code, set.stderr).toBe(0);
    // the user's own change: pam-verify (pam_authenticate, pam_acct_mgmt; unix_chkpwd on Debian 13), then chpasswd
    const own = await busctl(['call', ...MGR, 'SetPassword', 'sss', USER, 'third pass 3', 'second pass 2'], USER);
    expect(own.code, own.stderr).toBe(0);
    const wrong = await busctl(['call', ...MGR, 'SetPassword', 'sss', USER, 'fourth pass 4', 'not it'], USER);
    expect(wrong.stderr).toMatch(/current password is wrong/);
    const hash = (await shadow(USER))[1];
    expect((await c.exec(`printf 'third pass 3\\n' | /usr/libexec/diycloud/pam-verify -- ${USER}; echo $?`)).stdout.trim()).toBe('0');
    // usermod --lock --expiredate 1, then --unlock and --expiredate ''
    expect((await c.exec(`diycloudctl user disable ${USER}`, { allowFail: true })).code).toBe(0);
    expect((await shadow(USER))[1]).toBe(`!${hash}`);
    expect((await shadow(USER))[7]).toBe('1');
    expect((await c.exec(`diycloudctl user enable ${USER}`, { allowFail: true })).code).toBe(0);
    expect((await shadow(USER))[1]).toBe(hash);
    expect((await shadow(USER))[7]).toBe('');
    // groupadd and gpasswd (a role group)
    expect((await c.exec(`diycloudctl user role ${USER} operator`, { allowFail: true })).code).toBe(0);
    expect((await c.exec('getent group diycloud-operator')).stdout.trim().split(':')[3]).toBe(USER);
    expect((await c.exec(`diycloudctl user role ${USER} user`, { allowFail: true })).code).toBe(0);
    expect((await c.exec('getent group diycloud-operator')).stdout.trim().split(':')[3]).toBe('');
    // getent for a name nobody has, then userdel
    expect((await busctl(['call', ...MGR, 'GetUser', 's', 'dchnobody'])).stderr).toMatch(/does not exist/);
    expect((await c.exec(`diycloudctl user del ${USER} --remove-home`, { allowFail: true })).code).toBe(0);
    expect((await c.exec(`getent passwd ${USER}`, { allowFail: true })).code).not.toBe(0);
    expect((await c.exec(`test -e /home/${USER}`, { allowFail: true })).code).not.toBe(0);
    // the same process all along, and no program it ran reported a refused system call
    expect((await c.exec('systemctl show -p MainPID --value diycloudd')).stdout.trim()).toBe(mainPid);
    const journal = (await c.exec('journalctl --no-pager -q -u diycloudd', { allowFail: true })).stdout;
    expect(journal).not.toMatch(/Operation not permitted|EPERM|failed \(.*\), ignoring/);
    timings.childProgramsMs = Date.now() - t;
  }, 120_000);

  it('what comes next works in the same sandbox (expiry, reading /proc, StartTransientUnit); a call outside the list gets EPERM', async () => {
    await c.exec(`useradd -m -s /bin/bash ${PROBE_USER}`);
    try {
      const out = await underUnitSandbox(c, `
        /usr/sbin/usermod --expiredate 1 -- ${PROBE_USER}; echo "expire=$?"
        echo "shadow=$(getent shadow ${PROBE_USER} | cut -d: -f8)"
        /usr/sbin/usermod --expiredate '' -- ${PROBE_USER}; echo "unexpire=$?"
        /usr/bin/node -e '
          const fs = require("fs");
          const pid = String(require("child_process").execFileSync("/usr/bin/pgrep", ["-o", "-x", "systemd-logind"])).trim();
          for (const p of ["1", pid]) for (const f of ["status", "stat", "cgroup"]) fs.readFileSync("/proc/" + p + "/" + f, "utf8");
          // what ProcSubset=pid would hide: device majors (GPU policy) and the mount table (quotas)
          if (!/Character devices:/.test(fs.readFileSync("/proc/devices", "utf8"))) throw new Error("/proc/devices");
          if (!fs.readFileSync("/proc/self/mountinfo", "utf8").includes(" / ")) throw new Error("mountinfo");
          console.log("proc=ok")'
        touch /home/.diycloud-probe && rm /home/.diycloud-probe; echo "home=$?"
        /usr/bin/systemd-run --wait -q --unit=diycloud-probe-transient -p RuntimeMaxSec=20 /bin/true; echo "transient=$?"
        /usr/bin/nice -n 5 /bin/true 2>&1; echo "nice=$?"
      `);
      expect(out).toMatch(/^expire=0$/m);
      expect(out).toMatch(/^shadow=1$/m);
      expect(out).toMatch(/^unexpire=0$/m);
      expect(out).toMatch(/^proc=ok$/m);
      expect(out).toMatch(/^home=0$/m);
      expect(out).toMatch(/^transient=0$/m);
      // setpriority is in @resources: refused with EPERM (nice warns and runs the command anyway), not killed
      expect(out).toMatch(/cannot set niceness: Operation not permitted/);
      expect(out).toMatch(/^nice=0$/m);
      expect((await shadow(PROBE_USER))[7]).toBe('');
    } finally {
      await c.exec(`userdel --remove ${PROBE_USER} 2>/dev/null; true`);
    }
  }, 120_000);
});
