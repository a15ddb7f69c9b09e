// Pure planning: an allocation becomes backend-neutral enforcement steps (cgroup, disk), and memory is lowered safely.

import type { Allocation } from './allocation';

/** "No limit" for a 64-bit setting (systemd's infinity, cgroup v2's "max", v1's -1: each adapter spells it). */
export const UNLIMITED = 'infinity' as const;
export type U64 = number | typeof UNLIMITED;

/**
 * What diycloud owns on a user's cgroup, in backend-neutral names that carry their units. tasksMax
 * is only owned when the allocation sets it: otherwise the host's own default stays in force.
 */
export interface CgroupSettings {
  readonly cpuQuotaPerSecUsec: U64;
  readonly memoryMaxBytes: U64;
  readonly memoryHighBytes: U64;
  readonly tasksMax?: U64;
}

export const CGROUP_SETTING_KEYS = ['cpuQuotaPerSecUsec', 'memoryMaxBytes', 'memoryHighBytes', 'tasksMax'] as const;

/** What diycloud knows of a user's cgroup right now; null fields are unknown (e.g. no memory controller). */
export interface CgroupObservation {
  readonly memoryCurrentBytes: number | null;
  /** The memory limit in force. */
  readonly memoryMaxBytes: U64 | null;
}

/** One disk quota to hold on one filesystem (btrfs has no soft limit: its adapter applies the hard one only). */
export interface DiskSettings {
  readonly path: string;
  readonly diskSoftBytes: number;
  readonly diskHardBytes: number;
}

/** How the disk part of an allocation becomes quotas: where, and the soft limit as a share of the hard one. */
export interface DiskPolicy {
  readonly paths: readonly string[];
  readonly softShare: number;
}

/**
 * Whether a failed step fails the whole operation (fatal) or is logged and reported (best effort).
 * The cgroup step is fatal everywhere: a login that cannot be held to its allocation is the hook's
 * failure mode. Disk steps are fatal for an admin's change (SetLimits, CreateUser … answer
 * QuotaUnsupported or BackendFailed and change nothing) but best effort at login: a quota tool that
 * fails must not lock a user out of a session their CPU and memory limits already hold.
 */
export type Purpose = 'login' | 'change' | 'reconcile';

export interface CgroupStep {
  readonly resource: 'cgroup';
  readonly settings: CgroupSettings;
  /** False while a memory ratchet is still lowering the memory limit (another step is due later). */
  readonly done: boolean;
  readonly fatal: boolean;
}

export interface DiskStep extends DiskSettings {
  readonly resource: 'disk';
  readonly fatal: boolean;
}

export interface EnforcementPlan {
  readonly cgroup: CgroupStep;
  readonly disk: readonly DiskStep[];
}

export const USEC_PER_SEC = 1_000_000;

/** Headroom kept above current usage while ratcheting the memory limit down, so no step OOM-kills. */
export const RATCHET_HEADROOM = 1.25;

/** What lifting diycloud's cgroup limits means (tasksMax is left to the host's default). */
export const NO_CGROUP_LIMITS: CgroupSettings = { cpuQuotaPerSecUsec: UNLIMITED, memoryMaxBytes: UNLIMITED, memoryHighBytes: UNLIMITED };

/** The final, steady-state cgroup settings for an allocation. */
export function cgroupTarget(a: Allocation): CgroupSettings {
  const s: CgroupSettings = { cpuQuotaPerSecUsec: Math.round(a.cpuCores * USEC_PER_SEC), memoryMaxBytes: a.memoryMaxBytes, memoryHighBytes: UNLIMITED };
  return a.tasksMax === null ? s : { ...s, tasksMax: a.tasksMax };
}

/** The disk quotas for an allocation: one per quota path, soft = hard × share (rounded down to 1 KiB, quota's block size). */
export function diskTargets(a: Allocation, policy: DiskPolicy): DiskSettings[] {
  const hard = a.diskQuotaBytes;
  const soft = Math.min(hard, Math.floor((hard * policy.softShare) / 1024) * 1024);
  return policy.paths.map((path) => ({ path, diskSoftBytes: soft, diskHardBytes: hard }));
}

/**
 * The whole plan for one user.
 *
 * Lowering memory without an OOM kill: if the cgroup already uses more than the new limit, setting
 * it in one step would make the kernel kill the user's work at once. Instead:
 *  1. memoryHighBytes is set to the target: the kernel throttles and reclaims (page cache first,
 *     then swap) but never kills for crossing it.
 *  2. memoryMaxBytes is set to max(target, usage × 1.25): never below what is in use, never
 *     raised above what is already in force.
 *  3. The daemon repeats the step every ratchet interval. As reclaim shrinks usage, the limit
 *     follows it down; when usage fits under the target, the target is set and memoryHighBytes
 *     goes back to unlimited: the step is done.
 * With unknown usage (no memory controller) the target is applied at once: nothing can be killed
 * by a limit the kernel does not enforce.
 */
export function planEnforcement(a: Allocation, observed: CgroupObservation | null, disk: DiskPolicy, purpose: Purpose): EnforcementPlan {
  const target = cgroupTarget(a);
  const usage = observed?.memoryCurrentBytes ?? null;
  let cgroup: CgroupStep = { resource: 'cgroup', settings: target, done: true, fatal: true };
  if (usage !== null && usage > a.memoryMaxBytes) {
    let max = Math.max(a.memoryMaxBytes, Math.ceil(usage * RATCHET_HEADROOM));
    const inForce = observed?.memoryMaxBytes ?? null;
    if (typeof inForce === 'number' && inForce < max) max = Math.max(inForce, a.memoryMaxBytes);
    cgroup = { resource: 'cgroup', settings: { ...target, memoryMaxBytes: max, memoryHighBytes: a.memoryMaxBytes }, done: max === a.memoryMaxBytes, fatal: true };
  }
  const fatalDisk = purpose === 'change';
  return { cgroup, disk: diskTargets(a, disk).map((d) => ({ resource: 'disk', ...d, fatal: fatalDisk })) };
}

/** The settings whose values differ between what is in force and what is wanted. */
export function diffCgroup(inForce: Partial<CgroupSettings> | null, wanted: CgroupSettings): (keyof CgroupSettings)[] {
  const keys = CGROUP_SETTING_KEYS.filter((k) => wanted[k] !== undefined);
  if (!inForce) return [...keys];
  return keys.filter((k) => inForce[k] !== wanted[k]);
}

/** Whether a recorded disk quota is the one wanted (OpenSession's cheap check). */
export function sameDisk(recorded: DiskSettings | null, wanted: DiskSettings): boolean {
  return recorded !== null && recorded.path === wanted.path && recorded.diskSoftBytes === wanted.diskSoftBytes && recorded.diskHardBytes === wanted.diskHardBytes;
}

/**
 * Whether the quota a filesystem holds (one row of a bulk read) differs from the plan. `softHeld`
 * is false for btrfs, whose qgroups have no soft limit: only the hard one is compared there.
 */
export function diskDiffers(have: { readonly softBytes: number; readonly hardBytes: number } | undefined, want: DiskSettings, softHeld: boolean): boolean {
  if (!have) return want.diskHardBytes !== 0;
  return have.hardBytes !== want.diskHardBytes || (softHeld && have.softBytes !== want.diskSoftBytes);
}
