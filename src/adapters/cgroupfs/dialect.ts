// What v1 and v2 share: the files each setting is written to, how values read back, the CPU period.

import { DiycloudError } from '../../core/errors';
import { UNLIMITED, USEC_PER_SEC, type CgroupSettings, type U64 } from '../../core/enforcement-plan';
import type { CgroupState } from '../../core/ports';
import type { Controller } from './hierarchy';

/** The CFS period diycloud sets (the kernel's default): the quota is written per 100 ms. */
export const CPU_PERIOD_USEC = 100_000;
/** The kernel refuses a CFS quota under 1 ms per period (EINVAL). */
export const MIN_CPU_QUOTA_PER_PERIOD_USEC = 1_000;

/** One value to write, in order, into the user's group of the hierarchy carrying `controller`. */
export interface FileWrite {
  readonly controller: Controller;
  readonly file: string;
  readonly value: string;
  readonly key: keyof CgroupSettings;
}

/** Reads a control file of the user's group in the hierarchy carrying `controller`; null when it is not there. */
export type ReadFn = (controller: Controller, file: string) => string | null;

/** How one cgroup version spells the settings and the usage. */
export interface Dialect {
  readonly version: 'v1' | 'v2';
  writes(s: CgroupSettings): FileWrite[];
  read(read: ReadFn): CgroupState;
}

/** The quota per 100 ms period for a quota per second; BackendFailed below the kernel's minimum. */
export function quotaPerPeriodUsec(perSecUsec: number): number {
  const q = Math.round((perSecUsec * CPU_PERIOD_USEC) / USEC_PER_SEC);
  if (q < MIN_CPU_QUOTA_PER_PERIOD_USEC) {
    throw new DiycloudError('BackendFailed', `cgroupfs: a CPU quota of ${perSecUsec} µs per second is below the kernel's minimum of ${MIN_CPU_QUOTA_PER_PERIOD_USEC} µs per ${CPU_PERIOD_USEC} µs period (1 % of a core); raise the CPU allocation`);
  }
  return q;
}

/** A quota per period read back, as a quota per second. */
export function perSecUsec(quotaUsec: number, periodUsec: number): number {
  return Math.round((quotaUsec * USEC_PER_SEC) / periodUsec);
}

/**
 * A control file's number: "max" (v2, pids) and "-1" (v1 cfs_quota_us) are unlimited, and so is any
 * number past 2^53: v1 reports "no limit" as the page-rounded LONG_MAX (9223372036854771712 with
 * 4 KiB pages), and diycloud never writes such a number. null for anything else (unknown).
 */
export function parseU64(text: string | null): U64 | null {
  if (text === null) return null;
  const t = text.trim();
  if (t === 'max' || t === '-1') return UNLIMITED;
  if (!/^[0-9]+$/.test(t)) return null;
  const n = Number(t);
  return n > Number.MAX_SAFE_INTEGER ? UNLIMITED : n;
}

/** A usage counter (never "max"). */
export function parseCount(text: string | null): number | null {
  const v = parseU64(text);
  return typeof v === 'number' ? v : null;
}

/**
 * What the kernel will hold after `s` is written: memory limits rounded down to whole pages (both
 * versions count memory in pages), the CPU quota to whole µs per period. apply() compares the read
 * back with this, and observe() reports what the kernel holds.
 */
export function kernelHeld(s: CgroupSettings, pageSizeBytes: number): Partial<CgroupSettings> {
  const page = (v: U64): U64 => (v === UNLIMITED ? v : Math.floor(v / pageSizeBytes) * pageSizeBytes);
  const cpu = s.cpuQuotaPerSecUsec === UNLIMITED ? UNLIMITED : perSecUsec(Math.round((s.cpuQuotaPerSecUsec * CPU_PERIOD_USEC) / USEC_PER_SEC), CPU_PERIOD_USEC);
  const held: { -readonly [K in keyof CgroupSettings]?: U64 } = { cpuQuotaPerSecUsec: cpu, memoryMaxBytes: page(s.memoryMaxBytes), memoryHighBytes: page(s.memoryHighBytes) };
  if (s.tasksMax !== undefined) held.tasksMax = s.tasksMax;
  return held;
}

/** Drops the settings that could not be read (no such controller), so `settings` holds only what is known. */
export function known(s: Record<keyof CgroupSettings, U64 | null>): Partial<CgroupSettings> {
  const out: { -readonly [K in keyof CgroupSettings]?: U64 } = {};
  for (const [k, v] of Object.entries(s) as [keyof CgroupSettings, U64 | null][]) if (v !== null) out[k] = v;
  return out;
}
