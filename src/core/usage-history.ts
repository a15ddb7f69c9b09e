// Pure: usage history tiers (which tier serves hour, day, week), CPU percent from usage counters, and the downsample math.

import { DiycloudError } from './errors';

/**
 * The tiers, one table each (schema/009-usage-samples.sql):
 *  - raw: every sample ([Usage] SampleIntervalSec, default 10 s), kept 1 h (+ 5 min) → serves "hour";
 *  - 5min: averages of 5-minute buckets (aligned to the epoch), kept 1 day (+ 1 h) → serves "day";
 *  - 30min: averages of 30-minute buckets, kept 1 week (+ 1 h) → serves "week".
 * Each bucket row is written once, when its bucket has passed (from sums kept in memory: no table
 * is scanned to downsample). Rows older than `keepSec` are deleted every 5 minutes.
 */
export type UsageTierName = 'raw' | '5min' | '30min';
export interface UsageTier {
  readonly name: UsageTierName;
  /** Bucket length; null for raw (one row per sample). */
  readonly stepSec: number | null;
  readonly keepSec: number;
}
export const USAGE_TIERS: Readonly<Record<UsageTierName, UsageTier>> = {
  raw: { name: 'raw', stepSec: null, keepSec: 3600 + 300 },
  '5min': { name: '5min', stepSec: 300, keepSec: 86400 + 3600 },
  '30min': { name: '30min', stepSec: 1800, keepSec: 7 * 86400 + 3600 },
};
/** How often old rows are pruned (at each 5-minute boundary). */
export const USAGE_PRUNE_EVERY_SEC = 300;

export const USAGE_RANGES = ['hour', 'day', 'week'] as const;
export type UsageRange = (typeof USAGE_RANGES)[number];
const RANGE: Record<UsageRange, { rangeSec: number; tier: UsageTierName }> = {
  hour: { rangeSec: 3600, tier: 'raw' },
  day: { rangeSec: 86400, tier: '5min' },
  week: { rangeSec: 7 * 86400, tier: '30min' },
};

/** The range from a caller's string, or InvalidArgument. */
export function parseUsageRange(raw: unknown): UsageRange {
  if (typeof raw === 'string' && (USAGE_RANGES as readonly string[]).includes(raw)) return raw as UsageRange;
  throw new DiycloudError('InvalidArgument', `range: expected one of ${USAGE_RANGES.join(', ')}`, { field: 'range' });
}

/** Which tier serves a range, from when (seconds since the epoch), and the points' step. */
export function tierForRange(range: UsageRange, nowSec: number, sampleIntervalSec: number): { tier: UsageTierName; sinceSec: number; stepSec: number } {
  const r = RANGE[range];
  return { tier: r.tier, sinceSec: nowSec - r.rangeSec, stepSec: USAGE_TIERS[r.tier].stepSec ?? sampleIntervalSec };
}

/** One point of a user's history: `tSec` is the sample time, or a bucket's start. */
export interface UsagePoint {
  readonly tSec: number;
  /** 100 = one core busy for the whole interval. */
  readonly cpuPercent: number;
  readonly memoryBytes: number;
  /** Summed over the quota paths; null where no path reports usage. */
  readonly diskBytes: number | null;
  readonly tasks: number | null;
}

/** A cgroup's counters as read at one instant. */
export interface UsageReading {
  readonly uid: number;
  readonly cpuUsageNsec: number | null;
  readonly memoryBytes: number | null;
  readonly tasks: number | null;
}

/**
 * CPU use between two readings, 100 = one core: Δusage / Δwall. null when it cannot be known: no
 * earlier reading, a counter that went backwards (the cgroup was made anew), or no time between.
 */
export function cpuPercent(prev: { usageNsec: number; atMs: number } | undefined, usageNsec: number | null, atMs: number): number | null {
  if (!prev || usageNsec === null) return null;
  const dUsage = usageNsec - prev.usageNsec;
  const dWallNsec = (atMs - prev.atMs) * 1e6;
  if (dUsage < 0 || dWallNsec <= 0) return null;
  return Math.round((dUsage / dWallNsec) * 100 * 100) / 100;
}

interface Bucket {
  startSec: number;
  n: number;
  cpu: number;
  mem: number;
  tasksSum: number;
  tasksN: number;
  disk: number | null;
}

/**
 * One tier's open buckets, one per user. A bucket closes (its average is emitted) when a tick in a
 * later bucket asks for `close`, whether or not the user was sampled since: a user who logged out
 * still gets the bucket they were in. Averages: CPU, memory and tasks are means over the samples;
 * disk is the last value (it changes slowly and is read less often).
 */
export class Downsampler {
  private readonly open = new Map<number, Bucket>();

  constructor(readonly stepSec: number) {}

  bucketOf(tSec: number): number {
    return Math.floor(tSec / this.stepSec) * this.stepSec;
  }

  /** Emits the buckets that started before the bucket holding `nowSec`, and forgets them. */
  close(nowSec: number): { uid: number; point: UsagePoint }[] {
    const current = this.bucketOf(nowSec);
    const out: { uid: number; point: UsagePoint }[] = [];
    for (const [uid, b] of this.open) {
      if (b.startSec >= current) continue;
      out.push({ uid, point: average(b) });
      this.open.delete(uid);
    }
    return out;
  }

  add(uid: number, p: UsagePoint): void {
    const start = this.bucketOf(p.tSec);
    let b = this.open.get(uid);
    if (b && b.startSec !== start) {
      // a sample from another bucket without a close between (a clock step): start afresh
      b = undefined;
    }
    if (!b) this.open.set(uid, (b = { startSec: start, n: 0, cpu: 0, mem: 0, tasksSum: 0, tasksN: 0, disk: null }));
    b.n++;
    b.cpu += p.cpuPercent;
    b.mem += p.memoryBytes;
    if (p.tasks !== null) {
      b.tasksSum += p.tasks;
      b.tasksN++;
    }
    if (p.diskBytes !== null) b.disk = p.diskBytes;
  }

  get size(): number {
    return this.open.size;
  }
}

function average(b: Bucket): UsagePoint {
  return {
    tSec: b.startSec,
    cpuPercent: Math.round((b.cpu / b.n) * 100) / 100,
    memoryBytes: Math.round(b.mem / b.n),
    diskBytes: b.disk,
    tasks: b.tasksN ? Math.round(b.tasksSum / b.tasksN) : null,
  };
}

/** Whether a tick at `nowSec` is the first of a prune period since `lastSec` (null: never pruned). */
export function pruneDue(lastSec: number | null, nowSec: number): boolean {
  return lastSec === null || Math.floor(nowSec / USAGE_PRUNE_EVERY_SEC) !== Math.floor(lastSec / USAGE_PRUNE_EVERY_SEC);
}

/** Per tier, the oldest `tSec` kept at `nowSec`. */
export function pruneCutoffs(nowSec: number): Record<UsageTierName, number> {
  return { raw: nowSec - USAGE_TIERS.raw.keepSec, '5min': nowSec - USAGE_TIERS['5min'].keepSec, '30min': nowSec - USAGE_TIERS['30min'].keepSec };
}

/** How close to a limit counts as "near" in the host view (a share of the limit). */
export const NEAR_LIMIT_SHARE = 0.9;

/** "near" at ≥ 90 % of the limit, "over" above it, else null; a limit of 0 or null is no limit. */
export function limitLevel(usage: number, limit: number | null): 'near' | 'over' | null {
  if (limit === null || !(limit > 0)) return null;
  if (usage > limit) return 'over';
  return usage >= limit * NEAR_LIMIT_SHARE ? 'near' : null;
}
