// diycloudctl doctor's decisions: from facts gathered on the host to a list of checks, each with its fix.

import { gpuEnforcementCheck, type GpuInventory } from './gpu';
import type { QuotaPathStatus } from './ports';

/** Where the installed pieces live (packaging/install.sh with the default prefix /usr). */
export const DOCTOR_PATHS = {
  hook: '/usr/libexec/diycloud/pam-hook',
  /** The PAM module's file name; it lives in the PAM module directory, one of PAM_MODULE_DIRS. */
  module: 'pam_diycloud.so',
  pamProfile: '/usr/share/pam-configs/diycloud',
  pamAccount: '/etc/pam.d/common-account',
  pamSession: '/etc/pam.d/common-session',
  unit: 'diycloudd',
  daemon: '/usr/sbin/diycloudd',
} as const;

/**
 * Where distributions keep PAM modules (Debian multiarch first, then the rpm and plain layouts):
 * packaging/install.sh installs pam_diycloud.so beside pam_unix.so in the first that has it.
 */
export const PAM_MODULE_DIRS = ['/lib/x86_64-linux-gnu/security', '/usr/lib/x86_64-linux-gnu/security', '/lib/aarch64-linux-gnu/security',
  '/usr/lib/aarch64-linux-gnu/security', '/lib64/security', '/usr/lib64/security', '/lib/security', '/usr/lib/security'] as const;

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a warn or fail; null when there is nothing to do. */
  readonly fix: string | null;
}

export interface ConfigFact {
  readonly path: string;
  /** missing: no file, the documented defaults apply; invalid: it cannot be read or parsed (error says why). */
  readonly state: 'valid' | 'missing' | 'invalid';
  readonly error: string | null;
}

/** What the cgroupfs probe found under /sys/fs/cgroup. */
export type CgroupfsFact =
  | { readonly version: 'v1'; readonly cpuMount: string; readonly memoryMount: string; readonly readOnly?: boolean }
  | { readonly version: 'v2'; readonly mountPoint: string; readonly controllers: readonly string[]; readonly readOnly?: boolean }
  | { readonly version: null; readonly reason: string };

export type QuotaFact = { readonly path: string; readonly status: QuotaPathStatus } | { readonly path: string; readonly error: string };

/** A file's stat(2) as far as the hook check needs it; null when it does not exist. */
export interface FileFact {
  readonly isFile: boolean;
  readonly mode: number;
  readonly uid: number;
}

/** `systemctl is-enabled` / `is-active` answers ("enabled", "inactive", "not-found" …). */
export interface UnitFact {
  readonly enabled: string;
  readonly active: string;
}

export type DaemonFact = { readonly version: string; readonly backend: string; readonly gpus?: GpuInventory } | { readonly error: string };

export interface DoctorFacts {
  readonly config: ConfigFact;
  /** [Backend] Cgroups= (the default when the config is invalid). */
  readonly cgroupChoice: 'auto' | 'systemd' | 'cgroupfs' | 'none';
  /** systemd is PID 1 (/run/systemd/system exists, as sd_booted() checks). */
  readonly systemdBooted: boolean;
  readonly cgroupfs: CgroupfsFact;
  /** The configured quota paths, or null for the default (the filesystem holding /home). */
  readonly quotaPaths: readonly string[] | null;
  readonly quota: readonly QuotaFact[];
  /** The pam_exec program. */
  readonly hook: FileFact | null;
  /** The PAM module in the first of PAM_MODULE_DIRS that holds it; null when none does. */
  readonly module: { readonly path: string; readonly file: FileFact } | null;
  /** The text of each PAM file; null when it does not exist. */
  readonly pam: { readonly profile: boolean; readonly account: string | null; readonly session: string | null };
  /** null when systemd is not PID 1 or systemctl is not installed. */
  readonly unit: UnitFact | null;
  readonly daemon: DaemonFact;
}

const ok = (id: string, title: string, detail: string): Check => ({ id, title, status: 'ok', detail, fix: null });

export function configCheck(c: ConfigFact): Check {
  const title = 'configuration';
  if (c.state === 'missing') return ok('config', title, `${c.path} does not exist: the documented defaults apply`);
  if (c.state === 'valid') return ok('config', title, `${c.path} is valid`);
  return {
    id: 'config',
    title,
    status: 'fail',
    detail: `${c.error ?? `${c.path} is invalid`} (diycloudd will not start; the other checks assume the defaults)`,
    fix: `edit ${c.path} as the message says, then restart diycloudd`,
  };
}

const CGROUP_FIX =
  'boot the host with systemd as init, or mount cgroup2 on /sys/fs/cgroup with the cpu and memory controllers (or cgroup v1 cpu and memory hierarchies under it)';

function cgroupfsDetail(f: CgroupfsFact): string {
  if (f.version === 'v1') return `cgroupfs (v1): cpu at ${f.cpuMount}, memory at ${f.memoryMount}`;
  if (f.version === 'v2') return `cgroupfs (v2) at ${f.mountPoint}: ${f.controllers.join(' ')}`;
  return f.reason;
}

/** Mirrors the daemon's choice (pickCgroupLimits), from the config and what the host offers. */
export function cgroupCheck(choice: DoctorFacts['cgroupChoice'], systemdBooted: boolean, f: CgroupfsFact): Check {
  const [id, title] = ['cgroups', 'cgroup controllers'];
  if (choice === 'none') return { id, title, status: 'warn', detail: '[Backend] Cgroups=none: CPU and memory limits are recorded, not enforced', fix: 'set [Backend] Cgroups=auto and restart diycloudd' };
  if (choice === 'systemd') {
    if (systemdBooted) return systemdControllers(f, 'systemd (as configured)');
    return { id, title, status: 'fail', detail: '[Backend] Cgroups=systemd, but systemd is not PID 1 on this host', fix: 'set [Backend] Cgroups=auto (diycloud then manages its own cgroups) and restart diycloudd' };
  }
  if (choice === 'auto' && systemdBooted) return systemdControllers(f, 'systemd');
  if (f.version !== null) return ok(id, title, cgroupfsDetail(f));
  const what = choice === 'cgroupfs' ? '[Backend] Cgroups=cgroupfs, but diycloudd will not start: ' : 'no systemd and no usable cgroup hierarchy, so limits are not enforced: ';
  return { id, title, status: 'fail', detail: what + f.reason, fix: CGROUP_FIX };
}

/**
 * systemd enforces through the same controllers diycloud would use itself: where the hierarchy
 * offers no cpu and memory controller, or has them mounted read-only (a container that was not
 * delegated them), systemd records the limits on the slice and the kernel holds nobody to them.
 */
function systemdControllers(f: CgroupfsFact, what: string): Check {
  const [id, title] = ['cgroups', 'cgroup controllers'];
  const fix = 'run diycloud on the host itself, or give this container the cpu and memory controllers (a delegated cgroup v2 hierarchy, e.g. systemd-nspawn on a unified host)';
  if (f.version === null) return { id, title, status: 'warn', detail: `${what}, but ${f.reason}: CPU and memory limits are recorded, not enforced`, fix };
  if (f.readOnly) return { id, title, status: 'warn', detail: `${what}, but the cgroup hierarchy with cpu and memory is mounted read-only (${cgroupfsDetail(f)}): CPU and memory limits are recorded, not enforced`, fix };
  return ok(id, title, what);
}

export function quotaChecks(paths: readonly string[] | null, facts: readonly QuotaFact[]): Check[] {
  if (paths !== null && paths.length === 0) {
    return [{ id: 'quota', title: 'disk quotas', status: 'warn', detail: '[Quota] Paths is empty: disk allocations are recorded, not enforced', fix: 'set [Quota] Paths to the mount point of the filesystem holding the home directories' }];
  }
  return facts.map((q): Check => {
    const [id, title] = [`quota:${q.path}`, `disk quotas on ${q.path}`];
    if ('error' in q) return { id, title, status: 'fail', detail: q.error, fix: 'set [Quota] Paths to the mount point of the filesystem holding the home directories, then restart diycloudd' };
    const s = q.status;
    const where = `${s.mountPoint ?? s.path} (${s.fsType ?? 'unknown'}, ${s.backend})`;
    if (s.state === 'enforced') return ok(id, title, `${where}: enforced`);
    return { id, title, status: s.state === 'accounting' ? 'warn' : 'fail', detail: `${where}: ${s.state}${s.reason ? `: ${s.reason}` : ''}`, fix: s.fix };
  });
}

/** How the PAM files run the gate: the module (shipped), the pam_exec program (older profile), or not at all. */
export type GateKind = 'module' | 'exec' | 'none';

/** Root-owned and writable by root only: every login runs it as root (the program) or inside a root process (the module). */
function rootOnly(path: string, f: FileFact, mode: string): Check | null {
  if (f.uid === 0 && (f.mode & 0o022) === 0) return null;
  return { id: 'hook', title: 'PAM gate', status: 'fail', detail: `${path} is writable by others than root (owner uid ${f.uid}, mode ${(f.mode & 0o7777).toString(8).padStart(4, '0')}), and every login runs it as root`, fix: `chown root:root ${path} && chmod ${mode} ${path}` };
}

/** The file the PAM lines run: pam_diycloud.so (or, for an older profile's pam_exec line, the program). */
export function hookCheck(f: Pick<DoctorFacts, 'hook' | 'module'>, kind: GateKind): Check {
  const [id, title] = ['hook', 'PAM gate'];
  const reinstall = 'install diycloud again (packaging/install.sh puts pam_diycloud.so beside pam_unix.so and the program in /usr/libexec/diycloud)';
  if (kind === 'exec') {
    const path = DOCTOR_PATHS.hook;
    if (f.hook === null) return { id, title, status: 'fail', detail: `the PAM lines run ${path} with pam_exec, and it does not exist`, fix: reinstall };
    if (!f.hook.isFile || (f.hook.mode & 0o111) === 0) return { id, title, status: 'fail', detail: `${path} is not an executable file`, fix: reinstall };
    return rootOnly(path, f.hook, '0755') ?? ok(id, title, `${path} is executable (run by pam_exec: an older profile's lines; pam-auth-update --package loads the module instead, one process less per login)`);
  }
  if (f.module === null) return { id, title, status: 'fail', detail: `${DOCTOR_PATHS.module} is in none of ${PAM_MODULE_DIRS.join(', ')}`, fix: reinstall };
  const { path, file } = f.module;
  if (!file.isFile) return { id, title, status: 'fail', detail: `${path} is not a regular file`, fix: reinstall };
  return rootOnly(path, file, '0644') ?? ok(id, title, `${path} is installed`);
}

/** A line of `type` ("account", "session") that runs the gate, not commented out: the module, or pam_exec with the program. */
function gateLine(text: string, type: 'account' | 'session'): GateKind {
  let kind: GateKind = 'none';
  for (const raw of text.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (words[0] !== type) continue;
    if (words.some((w) => w === DOCTOR_PATHS.module || w.endsWith(`/${DOCTOR_PATHS.module}`))) return 'module';
    if (words.includes('pam_exec.so') && words.includes(DOCTOR_PATHS.hook)) kind = 'exec';
  }
  return kind;
}

/** How the session file runs the gate (what hookCheck must look at). */
export function gateKind(p: DoctorFacts['pam']): GateKind {
  return p.session === null ? 'none' : gateLine(p.session, 'session');
}

export function pamCheck(p: DoctorFacts['pam']): Check {
  const [id, title] = ['pam', 'PAM profile'];
  const missing: string[] = [];
  const absent: string[] = [];
  for (const [path, text, type] of [[DOCTOR_PATHS.pamAccount, p.account, 'account'], [DOCTOR_PATHS.pamSession, p.session, 'session']] as const) {
    if (text === null) absent.push(path);
    else if (gateLine(text, type) === 'none') missing.push(path);
  }
  if (!p.profile) return { id, title, status: 'fail', detail: `${DOCTOR_PATHS.pamProfile} does not exist`, fix: 'install diycloud again (packaging/install.sh), then pam-auth-update --enable diycloud' };
  if (absent.length > 0) {
    return { id, title, status: 'fail', detail: `${absent.join(' and ')} ${absent.length > 1 ? 'do' : 'does'} not exist (not a pam-auth-update system?)`, fix: `add the Account and Session lines of ${DOCTOR_PATHS.pamProfile} to this system's PAM stack (docs/pam-hook.md)` };
  }
  if (missing.length > 0) return { id, title, status: 'fail', detail: `the diycloud line is missing from ${missing.join(' and ')}: logins are not held to their allocation`, fix: 'pam-auth-update --enable diycloud' };
  return ok(id, title, `enabled in ${DOCTOR_PATHS.pamAccount} and ${DOCTOR_PATHS.pamSession}`);
}

export function unitCheck(systemdBooted: boolean, u: UnitFact | null): Check {
  const [id, title, unit] = ['unit', 'systemd unit', DOCTOR_PATHS.unit];
  if (!systemdBooted) return { id, title, status: 'warn', detail: 'systemd is not PID 1: the unit is not used, nothing restarts diycloudd when it exits', fix: `run ${DOCTOR_PATHS.daemon} from this host's init system (it needs the system bus)` };
  if (u === null) return { id, title, status: 'fail', detail: 'systemctl is not installed', fix: 'apt install systemd' };
  if (u.enabled === 'not-found') return { id, title, status: 'fail', detail: `${unit}.service is not installed`, fix: 'install diycloud (packaging/install.sh), then systemctl enable --now diycloudd' };
  const detail = `${unit}.service is ${u.enabled} and ${u.active}`;
  if (u.active === 'failed') return { id, title, status: 'fail', detail, fix: 'journalctl -u diycloudd -b says why; fix that, then systemctl restart diycloudd' };
  if (u.active !== 'active' && u.active !== 'activating' && u.active !== 'reloading') return { id, title, status: 'fail', detail, fix: 'systemctl enable --now diycloudd' };
  // enabled-runtime, static, alias …: started now, but not at the next boot unless enabled.
  if (u.enabled !== 'enabled') return { id, title, status: 'warn', detail: `${detail}: it will not start at the next boot`, fix: 'systemctl enable diycloudd' };
  return ok(id, title, detail);
}

export function daemonCheck(systemdBooted: boolean, d: DaemonFact): Check {
  const [id, title] = ['daemon', 'diycloudd on the bus'];
  if ('error' in d) {
    const fix = systemdBooted ? 'systemctl start diycloudd (journalctl -u diycloudd -b says why it stopped)' : `start ${DOCTOR_PATHS.daemon} (it needs the system bus)`;
    return { id, title, status: 'fail', detail: d.error, fix };
  }
  const detail = `diycloudd ${d.version}, backend ${d.backend}`;
  if (d.backend === 'none') return { id, title, status: 'warn', detail: `${detail}: CPU and memory limits are recorded, not enforced`, fix: 'see the cgroup controllers check, then restart diycloudd' };
  return ok(id, title, detail);
}

/** GPU access as the running daemon enforces it (its Gpus property): device cgroup, groups only, or nothing. */
export function gpuCheck(d: DaemonFact): Check {
  const [id, title] = ['gpu', 'GPU access'];
  if ('error' in d || !d.gpus) return { id, title, status: 'warn', detail: 'diycloudd did not report its GPUs: what holds GPU access is unknown', fix: 'start diycloudd, then run diycloudctl doctor again' };
  return { id, title, ...gpuEnforcementCheck(d.gpus) };
}

/** Every check, in the order an admin fixes them: config first, the daemon last. */
export function diagnose(f: DoctorFacts): Check[] {
  return [
    configCheck(f.config),
    cgroupCheck(f.cgroupChoice, f.systemdBooted, f.cgroupfs),
    ...quotaChecks(f.quotaPaths, f.quota),
    hookCheck(f, gateKind(f.pam)),
    pamCheck(f.pam),
    unitCheck(f.systemdBooted, f.unit),
    daemonCheck(f.systemdBooted, f.daemon),
    gpuCheck(f.daemon),
  ];
}

/** Healthy enough: nothing failed (warnings are allowed). */
export function allPassed(checks: readonly Check[]): boolean {
  return checks.every((c) => c.status !== 'fail');
}
