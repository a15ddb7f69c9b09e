// Which login process OpenSession moves into user-UID.slice, decided from /proc facts (pure), and the ProcessTable port.

import { isManagedUid, type ManagedRange } from './login-policy';
import { printable } from './size';

/** The hook's process name: /proc/PID/comm of /usr/libexec/diycloud/pam-hook (and of dist/pam-hook). */
export const HOOK_COMM = 'pam-hook';

/**
 * What /proc says about one process, from files any process may read (stat, status, cgroup): the
 * daemon's unit has no CAP_SYS_PTRACE, so exe and environ of other processes are closed to it.
 */
export interface ProcessFacts {
  readonly pid: number;
  /** The process name, as /proc/PID/comm shows it (read from stat's second field: one file less). */
  readonly comm: string;
  /** PPid from /proc/PID/status. */
  readonly ppid: number;
  /** The effective UID (second value of the status "Uid:" line). */
  readonly euid: number;
  /** Clock ticks after boot (field 22 of /proc/PID/stat): with the PID, it names one process. */
  readonly startTime: number;
  /** The path in the cgroup tree systemd manages (see parseProcCgroup), or null when there is none. */
  readonly cgroup: string | null;
}

/**
 * Reads processes. Synchronous on purpose: /proc reads never block, and the login path must not
 * queue behind libuv's thread pool (which slow PAM or NSS work can fill).
 */
export interface ProcessTable {
  /** This daemon's own PID. */
  readonly selfPid: number;
  /** A live process, or null when it does not exist (or went away while it was read). */
  inspect(pid: number): ProcessFacts | null;
}

export type PlacementDecision =
  | { readonly move: false; readonly reason: string }
  | { readonly move: true; readonly pid: number; readonly startTime: number; readonly comm: string; readonly from: string };

/**
 * Which process the login runs in. "hook-parent": OpenSession from pam_exec's hook, whose parent is
 * the PAM application. "caller": OpenSessionHere from pam_diycloud.so, which runs inside the PAM
 * application, so the caller itself is the login process.
 */
export type PlacementTarget = 'hook-parent' | 'caller';

export interface PlacementInput {
  readonly target: PlacementTarget;
  /** The user whose session opens. */
  readonly uid: number;
  readonly range: ManagedRange;
  readonly daemonPid: number;
  /** The bus caller's PID (GetConnectionCredentials), null when the bus did not say. */
  readonly callerPid: number | null;
  /** /proc facts of callerPid. */
  readonly hook: ProcessFacts | null;
  /** /proc facts of hook.ppid (only read for "hook-parent"). */
  readonly parent: ProcessFacts | null;
}

const no = (reason: string): PlacementDecision => ({ move: false, reason });

/**
 * The rules (docs/security.md): move only the PAM application (su, sudo, cron's job child, sshd's
 * session process), and only when it is verifiably that process: the hook's parent for OpenSession
 * (so root's busctl from a shell moves nothing), the caller itself for OpenSessionHere (a root
 * process that says it is the login process; never diycloudd). Never for root or a system account;
 * never a process already in the user's slice.
 */
export function decidePlacement(i: PlacementInput): PlacementDecision {
  if (i.uid === 0 || !isManagedUid(i.uid, i.range)) return no(`uid ${i.uid} is root or a system account`);
  if (i.callerPid === null) return no('the bus did not report the caller\'s PID');
  const { hook, parent } = i;
  if (!hook || hook.pid !== i.callerPid) return no(`the caller (PID ${i.callerPid}) is gone`);
  if (i.target === 'caller') return movable(hook, i, 'the caller');
  if (hook.comm !== HOOK_COMM) return no(`the caller (PID ${hook.pid}, "${printable(hook.comm, 16)}") is not the PAM hook`);
  if (hook.ppid <= 1) return no(`the hook's parent is PID ${hook.ppid}: the PAM application is gone`);
  if (!parent || parent.pid !== hook.ppid) return no(`the hook's parent (PID ${hook.ppid}) is gone`);
  if (parent.startTime > hook.startTime) return no(`PID ${parent.pid} started after the hook: not its parent (PID reused)`);
  return movable(parent, i, 'the hook\'s parent');
}

/** The checks on the process to move itself, whichever way it was found. */
function movable(p: ProcessFacts, i: PlacementInput, what: string): PlacementDecision {
  if (p.pid === i.daemonPid) return no(`${what} is diycloudd itself`);
  if (p.euid !== 0 && p.euid !== i.uid) return no(`${what} (PID ${p.pid}) runs as uid ${p.euid}, neither root nor uid ${i.uid}`);
  if (p.cgroup === null) return no(`the cgroup of PID ${p.pid} is unknown`);
  if (inUserSlice(p.cgroup, i.uid)) return no(`PID ${p.pid} is already in user-${i.uid}.slice`);
  return { move: true, pid: p.pid, startTime: p.startTime, comm: p.comm, from: p.cgroup };
}

/**
 * After a move: the PID must still name the process that was decided on (same start time), or a
 * reused PID was moved instead. Returns what is wrong, or null.
 */
export function placementProblem(moved: { pid: number; startTime: number }, now: ProcessFacts | null): string | null {
  if (!now) return `PID ${moved.pid} is gone`;
  if (now.startTime !== moved.startTime) return `PID ${moved.pid} now names another process (start time ${now.startTime}, was ${moved.startTime})`;
  return null;
}

/**
 * Whether a cgroup path lies in user-UID.slice. The slice sits directly under user.slice (slice
 * names are hierarchical), so the pair must appear as path components; a prefix is allowed where
 * the reader sits in another cgroup namespace. "/user-1000.slice/" inside a delegated subtree
 * would also match: only a user's own delegated subtree could hold it, and that user could then
 * escape by themselves anyway (docs/security.md).
 */
export function inUserSlice(cgroupPath: string, uid: number): boolean {
  return new RegExp(`(^|/)user\\.slice/user-${uid}\\.slice(/|$)`).test(cgroupPath);
}

/**
 * The cgroup systemd manages, from /proc/PID/cgroup: the "0::" line (cgroup v2 and hybrid), else
 * the "name=systemd" line (pure v1). Null when neither is there.
 */
export function parseProcCgroup(text: string): string | null {
  let v1: string | null = null;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const [id, controllers, path] = [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1)];
    if (id === '0' && controllers === '') return path;
    if (controllers.split(',').includes('name=systemd')) v1 = path;
  }
  return v1;
}

/**
 * The name (field 2, the same text as /proc/PID/comm) and start time (field 22) of /proc/PID/stat.
 * The name may hold spaces and ")": it runs from the first "(" to the last ")", and the other
 * fields are counted after that.
 */
export function parseProcStat(text: string): { comm: string; startTime: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = text.slice(close + 1).trim().split(/\s+/); // fields[0] is field 3 (state)
  const start = fields[22 - 3];
  return start !== undefined && /^[0-9]+$/.test(start) ? { comm: text.slice(open + 1, close), startTime: Number(start) } : null;
}

/** PPid and the effective UID from /proc/PID/status. */
export function parseProcStatus(text: string): { ppid: number; euid: number } | null {
  const ppid = /^PPid:\s+([0-9]+)$/m.exec(text)?.[1];
  const euid = /^Uid:\s+[0-9]+\s+([0-9]+)\s/m.exec(text)?.[1];
  return ppid !== undefined && euid !== undefined ? { ppid: Number(ppid), euid: Number(euid) } : null;
}

/**
 * The transient scope that holds a moved process: "diycloud-UID-PID.scope" (with a suffix when
 * that name is taken). Only digits, letters and "-", so always a valid unit name.
 */
export function scopeUnitName(uid: number, pid: number, suffix?: string): string {
  return `diycloud-${uid}-${pid}${suffix ? `-${suffix}` : ''}.scope`;
}

/** systemd's rule for a unit name: at most 255 characters of [A-Za-z0-9:_.\\-] with a type suffix. */
export function isValidScopeName(name: string): boolean {
  return name.length <= 255 && /^[A-Za-z0-9:_.\\-]+\.scope$/.test(name) && !name.startsWith('.');
}
