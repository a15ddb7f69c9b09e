// Pure planning: an allocation becomes systemd slice properties, and memory is lowered safely.

import type { Allocation } from './allocation';

/** systemd's "infinity" for uint64 properties. */
export const UNLIMITED = 'infinity' as const;
export type U64 = number | typeof UNLIMITED;

/**
 * The properties diycloud owns on a user slice. Values are plain numbers; the D-Bus codec makes
 * them uint64. TasksMax is only owned when the allocation sets it: otherwise systemd's own
 * default for user slices (TasksMax=33% in user-.slice.d) stays in force.
 */
export interface SliceLimits {
  readonly CPUQuotaPerSecUSec: U64;
  readonly MemoryMax: U64;
  readonly MemoryHigh: U64;
  readonly TasksMax?: U64;
}

/** What diycloud knows of a slice right now; null fields are unknown (e.g. no memory controller). */
export interface SliceObservation {
  readonly memoryCurrentBytes: number | null;
  readonly memoryMaxBytes: U64 | null;
}

export const USEC_PER_SEC = 1_000_000;

/** The final, steady-state properties for an allocation. */
export function allocationToLimits(a: Allocation): SliceLimits {
  const limits: SliceLimits = { CPUQuotaPerSecUSec: Math.round(a.cpuCores * USEC_PER_SEC), MemoryMax: a.memoryMaxBytes, MemoryHigh: UNLIMITED };
  return a.tasksMax === null ? limits : { ...limits, TasksMax: a.tasksMax };
}

/** Headroom kept above current usage while ratcheting MemoryMax down, so no step OOM-kills. */
export const RATCHET_HEADROOM = 1.25;

export interface MemoryStep {
  readonly limits: SliceLimits;
  /** False while MemoryMax is still above the target and a later ratchet step is needed. */
  readonly done: boolean;
}

/**
 * Lowering memory without an OOM kill.
 *
 * If the slice already uses more than the new MemoryMax, setting it in one step would make the
 * kernel kill the user's work at once. Instead:
 *  1. MemoryHigh is set to the target: the kernel throttles the slice and reclaims memory
 *     (page cache first, then swap) but never kills for crossing it.
 *  2. MemoryMax is set to max(target, usage × 1.25): never below what is in use, never raised
 *     above what is already in force.
 *  3. The daemon repeats the step every ratchet interval. As reclaim shrinks usage, MemoryMax
 *     follows it down. When usage fits under the target, MemoryMax becomes the target and
 *     MemoryHigh goes back to infinity; the plan is done.
 * With unknown usage (no memory controller) the target is applied at once: nothing can be killed
 * by a limit the kernel does not enforce.
 */
export function planLimits(a: Allocation, now: SliceObservation): MemoryStep {
  const target = allocationToLimits(a);
  const usage = now.memoryCurrentBytes;
  if (usage === null || usage <= a.memoryMaxBytes) return { limits: target, done: true };

  let max = Math.max(a.memoryMaxBytes, Math.ceil(usage * RATCHET_HEADROOM));
  const inForce = now.memoryMaxBytes;
  if (typeof inForce === 'number' && inForce < max) max = Math.max(inForce, a.memoryMaxBytes);
  return {
    limits: { ...target, MemoryMax: max, MemoryHigh: a.memoryMaxBytes },
    done: max === a.memoryMaxBytes,
  };
}

/** The properties whose values differ between what is in force and what is wanted. */
export function diffLimits(inForce: Partial<SliceLimits> | null, wanted: SliceLimits): (keyof SliceLimits)[] {
  const keys = Object.keys(wanted) as (keyof SliceLimits)[];
  if (!inForce) return keys;
  return keys.filter((k) => inForce[k] !== wanted[k]);
}

export function userSliceName(uid: number): string {
  return `user-${uid}.slice`;
}

/** Parses "user-1000.slice" into 1000; anything else (user.slice, user-1000-x.slice) gives null. */
export function uidFromSliceName(unit: string): number | null {
  const m = /^user-(0|[1-9][0-9]{0,9})\.slice$/.exec(unit);
  if (!m) return null;
  const uid = Number(m[1]);
  return uid <= 0xfffffffe ? uid : null;
}
