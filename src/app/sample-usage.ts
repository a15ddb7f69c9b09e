// Use case: the usage sampler. Every [Usage] SampleIntervalSec it reads live users' counters, keeps the latest in memory, and writes the tiers.

import type { CgroupLimits, Logger } from '../core/ports';
import { cpuPercent, Downsampler, pruneCutoffs, pruneDue, type UsagePoint, type UsageReading } from '../core/usage-history';
import type { LatestUsage, UsageReader, UsageStore, UsageTickWrite } from '../core/usage-ports';
import { forEachLimited } from './for-each-limited';

export interface SamplerDeps {
  readonly reader: UsageReader;
  readonly store: UsageStore;
  readonly log: Logger;
  readonly nowMs: () => number;
  readonly isManaged: (uid: number) => boolean;
  readonly intervalSec: number;
  /** Disk usage per uid, summed over the quota paths (one bulk read per path); read at most every `diskEverySec`. */
  readonly diskUsage: () => Promise<Map<number, number>>;
  readonly diskEverySec: number;
}

/**
 * One tick, in this order:
 * 1. read every live cgroup's counters (one pass over the files; no bus call per user);
 * 2. every `diskEverySec`, the disk usage table (one read per quota path, shared with GetUser's cache);
 * 3. CPU percent from the usage counter's delta since the user's previous reading (a first reading,
 *    or a counter that went backwards, is a baseline: no point);
 * 4. the latest points replace the in-memory map (GetUsage reads it; a user whose cgroup is gone drops out;
 *    one whose cgroup has neither a CPU nor a memory figure is kept as unmeasured, with no point);
 * 5. the 5-min and 30-min buckets that have passed close; the new points go into the open ones;
 * 6. one transaction writes the raw points, the closed buckets and, every 5 minutes, prunes each
 *    known uid's old rows (one seek per uid and tier). The first tick prunes all rows once instead.
 * A tick that is still running when the next is due makes that one skip. Failures are logged, never thrown.
 */
export class UsageSampler implements LatestUsage {
  private readonly counters = new Map<number, { usageNsec: number; atMs: number }>();
  private latestPoints = new Map<number, UsagePoint>();
  private unmeasuredUids = new Set<number>();
  private disk = new Map<number, number>();
  private lastDiskMs: number | null = null;
  private lastTickMs: number | null = null;
  private lastPruneSec: number | null = null;
  private readonly known = new Set<number>();
  private readonly tiers = [{ tier: '5min' as const, ds: new Downsampler(300) }, { tier: '30min' as const, ds: new Downsampler(1800) }];
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly deps: SamplerDeps) {}

  start(): void {
    const tick = () => void this.tick();
    this.timer = setInterval(tick, this.deps.intervalSec * 1000);
    this.timer.unref();
    tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.sample();
    } catch (e) {
      this.deps.log.warn(`usage sampler: tick failed: ${(e as Error).message}, ignoring`);
    } finally {
      this.running = false;
    }
  }

  private async sample(): Promise<void> {
    const readings = (await this.deps.reader.readAll()).filter((r) => this.deps.isManaged(r.uid));
    const atMs = this.deps.nowMs();
    if (this.lastDiskMs === null || atMs - this.lastDiskMs >= this.deps.diskEverySec * 1000) {
      this.lastDiskMs = atMs;
      try {
        this.disk = await this.deps.diskUsage();
      } catch (e) {
        this.deps.log.warn(`usage sampler: disk usage unreadable: ${(e as Error).message}, ignoring`);
      }
    }
    const nowSec = Math.floor(atMs / 1000);
    const raw: { uid: number; point: UsagePoint }[] = [];
    const latest = new Map<number, UsagePoint>();
    const seen = new Set<number>();
    const unmeasured = new Set<number>();
    for (const r of readings) {
      seen.add(r.uid);
      // No CPU and no memory figure: a point would be zeros that look measured (and a hole is truer in the history).
      if (r.cpuUsageNsec === null && r.memoryBytes === null) {
        unmeasured.add(r.uid);
        continue;
      }
      const point = this.pointOf(r, atMs, nowSec);
      if (!point) continue;
      latest.set(r.uid, point);
      raw.push({ uid: r.uid, point });
    }
    for (const uid of this.counters.keys()) if (!seen.has(uid)) this.counters.delete(uid);
    this.latestPoints = latest;
    this.unmeasuredUids = unmeasured;
    this.lastTickMs = atMs;
    const buckets: UsageTickWrite['buckets'][number][] = [];
    for (const { tier, ds } of this.tiers) {
      for (const c of ds.close(nowSec)) buckets.push({ tier, ...c });
      for (const r of raw) ds.add(r.uid, r.point);
    }
    for (const r of raw) this.known.add(r.uid);
    let prune: UsageTickWrite['prune'] = null;
    if (this.lastPruneSec === null) {
      this.lastPruneSec = nowSec;
      try {
        const n = this.deps.store.pruneAll(pruneCutoffs(nowSec));
        if (n > 0) this.deps.log.debug(`usage sampler: ${n} old rows pruned at start`);
      } catch (e) {
        this.deps.log.warn(`usage sampler: pruning failed: ${(e as Error).message}, ignoring`);
      }
    } else if (pruneDue(this.lastPruneSec, nowSec)) {
      this.lastPruneSec = nowSec;
      prune = { uids: [...this.known], cutoffs: pruneCutoffs(nowSec) };
    }
    try {
      this.deps.store.writeTick({ raw, buckets, prune });
    } catch (e) {
      this.deps.log.warn(`usage sampler: ${raw.length} samples not stored: ${(e as Error).message}, ignoring`);
    }
  }

  private pointOf(r: UsageReading, atMs: number, nowSec: number): UsagePoint | null {
    let cpu = 0; // no CPU accounting in this cgroup: 0, not a hole in the history
    if (r.cpuUsageNsec !== null) {
      const c = cpuPercent(this.counters.get(r.uid), r.cpuUsageNsec, atMs);
      this.counters.set(r.uid, { usageNsec: r.cpuUsageNsec, atMs });
      if (c === null) return null;
      cpu = c;
    }
    return { tSec: nowSec, cpuPercent: cpu, memoryBytes: r.memoryBytes ?? 0, diskBytes: this.disk.get(r.uid) ?? null, tasks: r.tasks };
  }

  sampledAt(): Date | null {
    return this.lastTickMs === null ? null : new Date(this.lastTickMs);
  }

  latest(uid: number): UsagePoint | null {
    return this.latestPoints.get(uid) ?? null;
  }

  all(): ReadonlyMap<number, UsagePoint> {
    return this.latestPoints;
  }

  unmeasured(): ReadonlySet<number> {
    return this.unmeasuredUids;
  }

  diskBytes(uid: number): number | null {
    return this.disk.get(uid) ?? null;
  }
}

/**
 * A reader through the cgroup backend's observe() (one call per live user, a few at a time): for
 * hosts where the counter files are not at hand. The cgroupfs file reader is the one the daemon
 * prefers (adapters/cgroup-events/usage-files.ts).
 */
export function observeUsageReader(cgroups: CgroupLimits): UsageReader {
  return {
    mode: 'cgroup backend',
    async readAll() {
      const out: UsageReading[] = [];
      await forEachLimited(await cgroups.listUsers(), 8, async (uid) => {
        const s = await cgroups.observe(uid).catch(() => null);
        if (s) out.push({ uid, cpuUsageNsec: s.cpuUsageNsec ?? null, memoryBytes: s.memoryCurrentBytes ?? null, tasks: s.tasksCurrent ?? null });
      });
      return out;
    },
  };
}

/**
 * The file reader plus a reading with no figures for each live user cgroup the backend lists and
 * the files do not (systemd's slice exists, but not in the cpu and memory hierarchies: a container
 * whose controllers are mounted read-only), so the sampler reports that user live and unmeasured
 * rather than not logged in. One listing per tick (ListUnitsByPatterns on systemd); a failed
 * listing adds nothing.
 */
export function withUnmeasured(reader: UsageReader, liveUids: () => Promise<number[]>): UsageReader {
  return {
    mode: reader.mode,
    async readAll() {
      const [readings, live] = await Promise.all([reader.readAll(), liveUids().catch(() => [] as number[])]);
      const read = new Set(readings.map((r) => r.uid));
      return [...readings, ...live.filter((uid) => !read.has(uid)).map((uid) => ({ uid, cpuUsageNsec: null, memoryBytes: null, tasks: null }))];
    },
  };
}

/** Disk usage summed over the quota paths per uid, from the bulk table GetUser reads (null-free: users without usage are absent). */
export function summedDisk(paths: readonly { usage: ReadonlyMap<number, { usedBytes: number }> | null }[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of paths) for (const [uid, u] of p.usage ?? []) out.set(uid, (out.get(uid) ?? 0) + u.usedBytes);
  return out;
}
