// Probes a quota path: the filesystem under it, which adapter fits it, and whether it enforces quotas now (with the fix when not).

import { DiycloudError } from '../../core/errors';
import type { QuotaPathStatus } from '../../core/ports';
import { findMount, hasOption, parseMountinfo, type MountEntry } from '../proc/mountinfo';
import { isMissing, systemQuotaDeps, type QuotaDeps } from './quota-deps';

/** The adapter for a filesystem type: quota-tools where the kernel's VFS quotas (or XFS's own) apply. */
export function backendFor(fsType: string): 'quota-tools' | 'btrfs' | 'none' {
  if (fsType === 'ext2' || fsType === 'ext3' || fsType === 'ext4' || fsType === 'xfs') return 'quota-tools';
  if (fsType === 'btrfs') return 'btrfs';
  return 'none';
}

/** The resolved path and the mount holding it; InvalidArgument when the path does not exist. */
async function resolve(path: string, deps: Pick<QuotaDeps, 'realpath' | 'readMountinfo'>): Promise<{ real: string; mount: MountEntry }> {
  let real: string;
  try {
    real = await deps.realpath(path);
  } catch (e) {
    if (isMissing(e)) throw new DiycloudError('InvalidArgument', `[Quota] Paths: ${path} does not exist; name the mount point of the filesystem that holds the home directories (e.g. /home or /)`, { field: 'Quota.Paths', cause: e });
    throw new DiycloudError('BackendFailed', `cannot resolve the quota path ${path}`, { cause: e });
  }
  const mount = findMount(real, parseMountinfo(await deps.readMountinfo()));
  if (mount === null) throw new DiycloudError('BackendFailed', `no mount holds ${real} in /proc/self/mountinfo`);
  return { real, mount };
}

/** The mount point of the filesystem holding `path` (symlinks resolved): the default quota path is mountPointOf('/home'). */
export async function mountPointOf(path: string, deps: Pick<QuotaDeps, 'realpath' | 'readMountinfo'> = systemQuotaDeps()): Promise<string> {
  return (await resolve(path, deps)).mount.mountPoint;
}

/**
 * The mount a configured quota path names. It must BE a mount point (after symlinks): quotas belong
 * to a whole filesystem, and a directory inside one would read as a promise about that directory
 * alone. InvalidArgument, naming the mount point to use, otherwise.
 */
export async function locateQuotaPath(path: string, deps: Pick<QuotaDeps, 'realpath' | 'readMountinfo'>): Promise<MountEntry> {
  const { real, mount } = await resolve(path, deps);
  if (mount.mountPoint !== real) {
    throw new DiycloudError('InvalidArgument', `[Quota] Paths: ${path} is not a mount point (it is a directory on ${mount.mountPoint}, ${mount.fsType}); quotas hold a whole filesystem: name ${mount.mountPoint} instead`, { field: 'Quota.Paths' });
  }
  return mount;
}

/** `quotaon -p [-v]`'s line for user quotas: "user quota on / (/dev/vda) is on (enforced)". */
export function parseQuotaonState(stdout: string): 'enforced' | 'accounting' | 'on' | 'off' | null {
  for (const line of stdout.split('\n')) {
    const m = /^user quota on .* is (on \(enforced\)|on \(accounting\)|on|off)\s*$/.exec(line);
    if (!m) continue;
    return m[1] === 'on (enforced)' ? 'enforced' : m[1] === 'on (accounting)' ? 'accounting' : (m[1] as 'on' | 'off');
  }
  return null;
}

const EXT4_USER_QUOTA = ['usrquota', 'quota', 'usrjquota='];
const XFS_ENFORCED = ['usrquota', 'uquota', 'quota'];
const XFS_ACCOUNTING = ['uqnoenforce', 'qnoenforce'];

type Verdict = Pick<QuotaPathStatus, 'state' | 'reason' | 'fix'>;
const enforced: Verdict = { state: 'enforced', reason: null, fix: null };

async function quotaToolsVerdict(m: MountEntry, deps: QuotaDeps): Promise<Verdict> {
  const mp = m.mountPoint;
  if (!(await deps.isExecutable(deps.tools.setquota))) return { state: 'off', reason: `the quota tools are not installed (${deps.tools.setquota} is missing)`, fix: 'apt install quota' };
  if (m.fsType === 'xfs') {
    // XFS shows its live quota state in the superblock options: no process needed.
    if (hasOption(m, XFS_ENFORCED)) return enforced;
    if (hasOption(m, XFS_ACCOUNTING)) return { state: 'accounting', reason: `${mp} (xfs) is mounted with uqnoenforce: usage is accounted, limits are not enforced`, fix: `quotaon -u ${mp} enforces them now; replace uqnoenforce with usrquota in the options of ${mp} in /etc/fstab so that they stay enforced` };
    return { state: 'off', reason: `${mp} (xfs) is mounted without user quotas`, fix: `add usrquota to the options of ${mp} in /etc/fstab (for the root filesystem: rootflags=usrquota on the kernel command line), then mount it again: XFS turns quota accounting on only at mount time, not on a remount` };
  }
  // ext2/3/4: the mount options say what was asked for, quotaon -p what the kernel does now.
  const asked = hasOption(m, EXT4_USER_QUOTA);
  const r = await deps.run(deps.tools.quotaon, ['-p', '-u', '-v', '--', mp]).catch((e: unknown) => e as Error);
  if (r instanceof Error) return { state: 'off', reason: `${deps.tools.quotaon} -p ${mp} could not run: ${r.message}`, fix: `run quotaon -p -u ${mp} as root and fix what it reports` };
  // quotaon -p exits with the number of quota types that are on: 1 is not a failure here.
  const kernel = parseQuotaonState(r.stdout);
  if (kernel === 'enforced' || (kernel === 'on' && asked)) return enforced;
  if (kernel === 'accounting' && asked) return { state: 'accounting', reason: `${mp} (${m.fsType}) accounts usage, but its limits were switched off (quotaoff)`, fix: `quotaon -u ${mp}` };
  if (kernel === 'accounting' || kernel === 'on') {
    return { state: 'accounting', reason: `${mp} (${m.fsType}) accounts usage (the quota feature) but is not mounted with usrquota: limits are not enforced`, fix: `quotaon -u ${mp} enforces them now; add usrquota to the options of ${mp} in /etc/fstab so that they stay enforced after the next mount` };
  }
  if (asked) return { state: 'off', reason: `${mp} is mounted with usrquota, but user quotas are not turned on`, fix: `quotacheck -cum ${mp} && quotaon -u ${mp}` };
  return { state: 'off', reason: `${mp} (${m.fsType}) is not mounted with usrquota`, fix: `add usrquota to the options of ${mp} in /etc/fstab, remount (mount -o remount ${mp}), then run quotacheck -cum ${mp} && quotaon -u ${mp}` };
}

async function btrfsVerdict(m: MountEntry, deps: QuotaDeps): Promise<Verdict> {
  const mp = m.mountPoint;
  if (!(await deps.isExecutable(deps.tools.btrfs))) return { state: 'off', reason: `btrfs-progs is not installed (${deps.tools.btrfs} is missing)`, fix: 'apt install btrfs-progs' };
  const r = await deps.run(deps.tools.btrfs, ['qgroup', 'show', '--', mp]);
  // btrfs qgroups have no accounting-only mode: once enabled, a limit holds (during a rescan too).
  if (r.code === 0) return enforced;
  const err = r.stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
  if (/not enabled/i.test(r.stderr)) return { state: 'off', reason: `quotas (qgroups) are not enabled on ${mp} (btrfs)`, fix: `btrfs quota enable ${mp}; each home must then be its own subvolume (diycloud creates new homes that way)` };
  return { state: 'off', reason: `btrfs qgroup show ${mp} failed: ${err || `exit ${r.code}`}`, fix: `run btrfs qgroup show ${mp} as root and fix what it reports` };
}

function noneVerdict(m: MountEntry): Verdict {
  const nfs = m.fsType === 'nfs' || m.fsType === 'nfs4';
  return {
    state: 'off',
    reason: nfs ? `${m.mountPoint} is ${m.fsType}: its quotas are set on the NFS server, not here` : `${m.mountPoint} is ${m.fsType}, which diycloud cannot set per-user quotas on`,
    fix: 'put the home directories on ext4, xfs or btrfs, or set [Quota] Paths= (empty) to record disk allocations without enforcing them',
  };
}

/** The status of a mount (already located) as configured under `path`. */
export async function probeMount(path: string, m: MountEntry, deps: QuotaDeps): Promise<QuotaPathStatus> {
  const backend = backendFor(m.fsType);
  const v = backend === 'quota-tools' ? await quotaToolsVerdict(m, deps) : backend === 'btrfs' ? await btrfsVerdict(m, deps) : noneVerdict(m);
  return { path, mountPoint: m.mountPoint, fsType: m.fsType, backend, ...v };
}

/** Probes a configured quota path. Throws InvalidArgument when it does not exist or is not a mount point. */
export async function probeQuotaPath(path: string, deps: QuotaDeps): Promise<QuotaPathStatus> {
  return probeMount(path, await locateQuotaPath(path, deps), deps);
}

/**
 * For a backend already in use: the path may have been unmounted or removed since start. That is
 * reported as "off" (never thrown), so that no tool is pointed at whatever filesystem is there now.
 */
export async function probeInUse(path: string, backend: string, deps: QuotaDeps, mountPoint?: string): Promise<QuotaPathStatus> {
  let s: QuotaPathStatus;
  try {
    s = await probeQuotaPath(path, deps);
  } catch (e) {
    if (!(e instanceof DiycloudError) || e.code !== 'InvalidArgument') throw e;
    return { path, mountPoint: null, fsType: null, backend, state: 'off', reason: e.message.replace(/^\[Quota\] Paths: /, ''), fix: `mount the filesystem on ${path} again, or change [Quota] Paths and restart diycloudd` };
  }
  if (s.backend !== backend || (mountPoint !== undefined && s.mountPoint !== mountPoint)) {
    return { ...s, backend, state: 'off', reason: `${path} is now ${s.mountPoint} (${s.fsType}), not the filesystem diycloudd found there at start`, fix: 'restart diycloudd so that it picks the quota backend again' };
  }
  return s;
}

/** The QuotaUnsupported error for a path that does not enforce, with its reason and fix. */
export function quotaUnsupported(s: QuotaPathStatus): DiycloudError {
  const what = s.state === 'accounting' ? 'accounted but not enforced' : 'off';
  return new DiycloudError('QuotaUnsupported', `${s.path}: disk quotas are ${what}${s.reason ? ` (${s.reason})` : ''}${s.fix ? `; to turn them on: ${s.fix}` : ''}`);
}
