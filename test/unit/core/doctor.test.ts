// Unit: doctor's pure decisions, one fact set at a time, from a healthy host.
import { buildInventory, withEnforcement } from '../../../src/core/gpu';
import { describe, expect, it } from 'vitest';
import { allPassed, diagnose, DOCTOR_PATHS, PAM_MODULE_DIRS, type Check, type DoctorFacts } from '../../../src/core/doctor';
import type { QuotaPathStatus } from '../../../src/core/ports';

const HOOK_ACCOUNT = `account\trequired\t${DOCTOR_PATHS.module}\n`;
const HOOK_SESSION = `session\trequired\t${DOCTOR_PATHS.module}\n`;
/** An older profile's lines: the pam_exec program. */
const EXEC_ACCOUNT = `account\trequired\tpam_exec.so quiet stdout seteuid type=account ${DOCTOR_PATHS.hook}\n`;
const EXEC_SESSION = `session\trequired\tpam_exec.so quiet seteuid type=open_session ${DOCTOR_PATHS.hook}\n`;
const MODULE_PATH = `${PAM_MODULE_DIRS[0]}/${DOCTOR_PATHS.module}`;
const enforced: QuotaPathStatus = { path: '/home', mountPoint: '/home', fsType: 'ext4', backend: 'quota-tools', state: 'enforced', reason: null, fix: null };

/** A healthy systemd host; each test changes one fact. */
function healthy(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    config: { path: '/etc/diycloud/diycloud.conf', state: 'valid', error: null },
    cgroupChoice: 'auto',
    systemdBooted: true,
    cgroupfs: { version: 'v2', mountPoint: '/sys/fs/cgroup', controllers: ['cpu', 'memory', 'pids'] },
    quotaPaths: null,
    quota: [{ path: '/home', status: enforced }],
    hook: { isFile: true, mode: 0o100755, uid: 0 },
    module: { path: MODULE_PATH, file: { isFile: true, mode: 0o100644, uid: 0 } },
    pam: { profile: true, account: `account required pam_unix.so\n${HOOK_ACCOUNT}`, session: `session required pam_unix.so\n${HOOK_SESSION}` },
    unit: { enabled: 'enabled', active: 'active' },
    daemon: { version: '1.2.0', backend: 'systemd', gpus: buildInventory({ nodes: [], nvidia: [], migMinors: null, drm: new Map() }) },
    ...over,
  };
}

const byId = (checks: Check[], id: string): Check => {
  const c = checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${checks.map((x) => x.id).join(', ')}`);
  return c;
};
const check = (over: Partial<DoctorFacts>, id: string): Check => byId(diagnose(healthy(over)), id);

describe('diagnose', () => {
  it('a healthy systemd host: every check ok, no fix', () => {
    const checks = diagnose(healthy());
    expect(checks.map((c) => c.id)).toEqual(['config', 'cgroups', 'quota:/home', 'hook', 'pam', 'unit', 'daemon', 'gpu']);
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(checks.every((c) => c.fix === null)).toBe(true);
    expect(byId(checks, 'cgroups').detail).toBe('systemd');
    expect(allPassed(checks)).toBe(true);
  });

  it('quota: enforced ok, accounting warn, off fail, each with the probe fix', () => {
    const accounting: QuotaPathStatus = { ...enforced, state: 'accounting', reason: 'accounts but not enforced', fix: 'quotaon -u /home' };
    const off: QuotaPathStatus = { ...enforced, path: '/', mountPoint: '/', state: 'off', reason: '/ (ext4) is not mounted with usrquota', fix: 'add usrquota …' };
    const checks = diagnose(healthy({ quotaPaths: ['/home', '/'], quota: [{ path: '/home', status: accounting }, { path: '/', status: off }] }));
    expect(byId(checks, 'quota:/home')).toMatchObject({ status: 'warn', fix: 'quotaon -u /home' });
    expect(byId(checks, 'quota:/home').detail).toContain('accounts but not enforced');
    expect(byId(checks, 'quota:/')).toMatchObject({ status: 'fail', fix: 'add usrquota …' });
    expect(allPassed(checks)).toBe(false);
    expect(allPassed(diagnose(healthy({ quota: [{ path: '/home', status: accounting }] })))).toBe(true);
  });

  it('quota: a path that is not a mount point fails with the message; empty Paths is a warning', () => {
    expect(check({ quotaPaths: ['/srv/x'], quota: [{ path: '/srv/x', error: '[Quota] Paths: /srv/x is not a mount point' }] }, 'quota:/srv/x')).toMatchObject({ status: 'fail', detail: '[Quota] Paths: /srv/x is not a mount point' });
    const empty = diagnose(healthy({ quotaPaths: [], quota: [] }));
    expect(byId(empty, 'quota').status).toBe('warn');
    expect(allPassed(empty)).toBe(true);
  });

  it('cgroups: no systemd, cgroupfs v1 ok; no hierarchy fails with a fix', () => {
    const v1 = check({ systemdBooted: false, cgroupfs: { version: 'v1', cpuMount: '/sys/fs/cgroup/cpu,cpuacct', memoryMount: '/sys/fs/cgroup/memory' } }, 'cgroups');
    expect(v1).toMatchObject({ status: 'ok', fix: null });
    expect(v1.detail).toContain('cgroupfs (v1)');
    const none = check({ systemdBooted: false, cgroupfs: { version: null, reason: 'no cgroup v1 memory hierarchy' } }, 'cgroups');
    expect(none.status).toBe('fail');
    expect(none.detail).toContain('no cgroup v1 memory hierarchy');
    expect(none.fix).toMatch(/cgroup2/);
  });

  it('cgroups: the configured choice wins (systemd without systemd fails, none warns, cgroupfs without a hierarchy fails)', () => {
    expect(check({ cgroupChoice: 'systemd', systemdBooted: false }, 'cgroups').status).toBe('fail');
    expect(check({ cgroupChoice: 'none' }, 'cgroups').status).toBe('warn');
    expect(check({ cgroupChoice: 'cgroupfs', cgroupfs: { version: null, reason: 'x' } }, 'cgroups').status).toBe('fail');
    expect(check({ cgroupChoice: 'cgroupfs' }, 'cgroups').detail).toContain('cgroupfs (v2)');
  });

  it('cgroups: systemd warns where it has no cpu and memory to enforce with (none offered, or mounted read-only as in a container)', () => {
    const ro = check({ cgroupfs: { version: 'v1', cpuMount: '/sys/fs/cgroup/cpu', memoryMount: '/sys/fs/cgroup/memory', readOnly: true } }, 'cgroups');
    expect(ro).toMatchObject({ status: 'warn' });
    expect(ro.detail).toMatch(/^systemd, but the cgroup hierarchy with cpu and memory is mounted read-only \(cgroupfs \(v1\): cpu at \/sys\/fs\/cgroup\/cpu.*recorded, not enforced$/);
    expect(ro.fix).toMatch(/delegated/);
    const none = check({ cgroupChoice: 'systemd', cgroupfs: { version: null, reason: 'no cpu and memory in /sys/fs/cgroup/cgroup.controllers' } }, 'cgroups');
    expect(none).toMatchObject({ status: 'warn', detail: 'systemd (as configured), but no cpu and memory in /sys/fs/cgroup/cgroup.controllers: CPU and memory limits are recorded, not enforced' });
    expect(check({ cgroupfs: { version: 'v2', mountPoint: '/sys/fs/cgroup', controllers: ['cpu', 'memory'], readOnly: false } }, 'cgroups')).toMatchObject({ status: 'ok', detail: 'systemd' });
    expect(allPassed(diagnose(healthy({ cgroupfs: { version: null, reason: 'x' } })))).toBe(true); // a warning, not a failure
  });

  it('pam: the hook line missing from either file fails with pam-auth-update; commented out does not count', () => {
    const noSession = check({ pam: { profile: true, account: HOOK_ACCOUNT, session: 'session required pam_unix.so\n' } }, 'pam');
    expect(noSession).toMatchObject({ status: 'fail', fix: 'pam-auth-update --enable diycloud' });
    expect(noSession.detail).toContain(DOCTOR_PATHS.pamSession);
    expect(noSession.detail).not.toContain(DOCTOR_PATHS.pamAccount);
    expect(check({ pam: { profile: true, account: `# ${HOOK_ACCOUNT}`, session: HOOK_SESSION } }, 'pam').status).toBe('fail');
    // The account line in common-session is not the session line.
    expect(check({ pam: { profile: true, account: HOOK_ACCOUNT, session: HOOK_ACCOUNT } }, 'pam').status).toBe('fail');
  });

  it('pam: no profile, or no common-* files, fails with an install fix', () => {
    expect(check({ pam: { profile: false, account: null, session: null } }, 'pam').fix).toMatch(/install\.sh/);
    expect(check({ pam: { profile: true, account: null, session: HOOK_SESSION } }, 'pam').detail).toContain('does not exist');
  });

  it('unit: inactive fails with enable --now; failed points at the journal; disabled but running warns', () => {
    expect(check({ unit: { enabled: 'disabled', active: 'inactive' } }, 'unit')).toMatchObject({ status: 'fail', fix: 'systemctl enable --now diycloudd' });
    expect(check({ unit: { enabled: 'enabled', active: 'failed' } }, 'unit').fix).toMatch(/journalctl -u diycloudd/);
    expect(check({ unit: { enabled: 'disabled', active: 'active' } }, 'unit')).toMatchObject({ status: 'warn', fix: 'systemctl enable diycloudd' });
    expect(check({ unit: { enabled: 'not-found', active: 'inactive' } }, 'unit').status).toBe('fail');
    expect(check({ unit: null }, 'unit').status).toBe('fail');
    expect(check({ systemdBooted: false, unit: null }, 'unit').status).toBe('warn');
  });

  it('config: invalid fails with the parse error as detail; missing is ok (defaults)', () => {
    const bad = check({ config: { path: '/etc/diycloud/diycloud.conf', state: 'invalid', error: '/etc/diycloud/diycloud.conf: [Limits] MinCPU: Expected number' } }, 'config');
    expect(bad.status).toBe('fail');
    expect(bad.detail).toContain('[Limits] MinCPU: Expected number');
    expect(bad.fix).toContain('/etc/diycloud/diycloud.conf');
    expect(check({ config: { path: '/x.conf', state: 'missing', error: null } }, 'config')).toMatchObject({ status: 'ok' });
  });

  it('hook (the module): missing from every PAM module directory, not a file or writable by others fails', () => {
    expect(check({}, 'hook')).toMatchObject({ status: 'ok', detail: `${MODULE_PATH} is installed` });
    expect(check({ hook: null }, 'hook').status).toBe('ok'); // the program is not what the lines run
    expect(check({ module: null }, 'hook')).toMatchObject({ status: 'fail', detail: expect.stringContaining(PAM_MODULE_DIRS[0]) });
    expect(check({ module: { path: MODULE_PATH, file: { isFile: false, mode: 0o40755, uid: 0 } } }, 'hook').status).toBe('fail');
    const writable = check({ module: { path: MODULE_PATH, file: { isFile: true, mode: 0o100664, uid: 0 } } }, 'hook');
    expect(writable).toMatchObject({ status: 'fail', fix: `chown root:root ${MODULE_PATH} && chmod 0644 ${MODULE_PATH}` });
    expect(check({ module: { path: MODULE_PATH, file: { isFile: true, mode: 0o100644, uid: 1000 } } }, 'hook').status).toBe('fail');
  });

  it('hook (an older profile\'s pam_exec lines): the program must be a root-owned executable; the module is not looked at', () => {
    const exec = (o: Partial<DoctorFacts>) => check({ pam: { profile: true, account: EXEC_ACCOUNT, session: EXEC_SESSION }, module: null, ...o }, 'hook');
    expect(exec({})).toMatchObject({ status: 'ok', detail: expect.stringMatching(/pam_exec.*pam-auth-update --package/) });
    expect(check({ pam: { profile: true, account: EXEC_ACCOUNT, session: EXEC_SESSION } }, 'pam').status).toBe('ok');
    expect(exec({ hook: null }).status).toBe('fail');
    expect(exec({ hook: { isFile: true, mode: 0o100644, uid: 0 } }).status).toBe('fail');
    expect(exec({ hook: { isFile: false, mode: 0o40755, uid: 0 } }).status).toBe('fail');
    const writable = exec({ hook: { isFile: true, mode: 0o100775, uid: 0 } });
    expect(writable).toMatchObject({ status: 'fail', fix: `chown root:root ${DOCTOR_PATHS.hook} && chmod 0755 ${DOCTOR_PATHS.hook}` });
    expect(writable.detail).toContain('0775');
    expect(exec({ hook: { isFile: true, mode: 0o100755, uid: 1000 } }).status).toBe('fail');
  });

  it('gpu: the device cgroup is ok; groups only, or nothing, warns with the fix; an unreachable daemon warns', () => {
    const node = (rel: string, minor: number) => ({ rel, mode: 0o666, gid: 0, group: 'root', major: 195, minor });
    const inv = buildInventory({ nodes: [node('nvidia0', 0), node('nvidiactl', 255)], nvidia: [{ dir: '0000:01:00.0', model: 'H200', busId: '0000:01:00.0', minor: 0 }], migMinors: null, drm: new Map() });
    const cgroup = { backend: 'systemd', state: 'device cgroup', reason: 'DeviceAllow on user-UID.slice' } as const;
    const groupsOnly = { backend: 'cgroupfs (v2)', state: 'groups only', reason: 'cgroup v2 without systemd: no BPF device program' } as const;
    expect(check({ daemon: { version: '1', backend: 'systemd', gpus: withEnforcement(inv, cgroup) } }, 'gpu')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^1 GPU \(0\): DeviceAllow/) });
    const weak = check({ daemon: { version: '1', backend: 'cgroupfs (v2)', gpus: withEnforcement(inv, groupsOnly) } }, 'gpu');
    expect(weak).toMatchObject({ status: 'warn', fix: expect.stringMatching(/NVreg_DeviceFileMode=0660/) });
    expect(check({ daemon: { error: 'gone' } }, 'gpu')).toMatchObject({ status: 'warn', fix: expect.stringMatching(/start diycloudd/) });
  });

  it('daemon: unreachable fails (fix by init system); backend none warns', () => {
    expect(check({ daemon: { error: 'The name org.diycloud.Manager1 was not provided' } }, 'daemon')).toMatchObject({ status: 'fail', detail: 'The name org.diycloud.Manager1 was not provided' });
    expect(check({ daemon: { error: 'x' } }, 'daemon').fix).toMatch(/^systemctl start diycloudd/);
    expect(check({ systemdBooted: false, daemon: { error: 'x' } }, 'daemon').fix).toContain(DOCTOR_PATHS.daemon);
    expect(check({ daemon: { version: '1', backend: 'none' } }, 'daemon').status).toBe('warn');
    expect(check({ daemon: { version: '1', backend: 'cgroupfs (v1)' } }, 'daemon')).toMatchObject({ status: 'ok', detail: 'diycloudd 1, backend cgroupfs (v1)' });
  });
});
