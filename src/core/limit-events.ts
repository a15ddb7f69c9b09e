// Limit events (pure): which events two successive counter snapshots of one user's cgroup mean, terminal rate limits, retention.

/** What hit a limit. */
export type LimitResource = 'memory' | 'cpu' | 'tasks' | 'disk';
/**
 * What happened:
 *  - memory oom-kill: the OOM killer killed a process in the cgroup (count: kills);
 *  - memory high: the cgroup reached memory.high and was throttled/reclaimed (count: times);
 *  - tasks max: a fork failed at the task limit (count: refused forks);
 *  - cpu throttled: throttled time grew above the threshold (count: microseconds throttled in the interval);
 *  - disk quota: usage reached the hard limit on a quota path (count: 1);
 *  - disk grace: usage went over the soft limit, so the grace period runs (count: 1).
 */
export type LimitKind = 'oom-kill' | 'high' | 'max' | 'throttled' | 'quota' | 'grace';

export interface LimitEvent {
  readonly uid: number;
  readonly resource: LimitResource;
  readonly kind: LimitKind;
  readonly count: number;
  /** Disk events: the quota path; null otherwise. */
  readonly path: string | null;
}

/** A quota path's state for one user. */
export type QuotaLevel = 'ok' | 'soft' | 'hard';

/**
 * Counters of one user's cgroup at one moment. A field is null where it was not read this time
 * (a notification reads only the fast files) or the kernel does not count it (v1 has no memory
 * "high"); null on either side of a comparison means "no event from this field".
 */
export interface CounterSnapshot {
  readonly atMs: number;
  readonly oomKill: number | null;
  readonly memoryHigh: number | null;
  readonly tasksMax: number | null;
  readonly throttledUsec: number | null;
  /** Quota paths → level; paths not listed were not read this time. */
  readonly quota: Readonly<Record<string, QuotaLevel>>;
}

export const EMPTY_SNAPSHOT: CounterSnapshot = { atMs: 0, oomKill: 0, memoryHigh: 0, tasksMax: 0, throttledUsec: 0, quota: {} };

export interface EventThresholds {
  /** Throttled time per minute of wall time above which a "throttled" event is recorded, in µs (e.g. 10 % = 6,000,000). */
  readonly throttleUsecPerMin: number;
}

/** Fills the fields a partial reading left out with the previous snapshot's, so the next comparison has them. */
export function mergeSnapshot(prev: CounterSnapshot, next: CounterSnapshot): CounterSnapshot {
  const pick = (a: number | null, b: number | null) => (b === null ? a : b);
  return {
    atMs: next.atMs,
    oomKill: pick(prev.oomKill, next.oomKill),
    memoryHigh: pick(prev.memoryHigh, next.memoryHigh),
    tasksMax: pick(prev.tasksMax, next.tasksMax),
    throttledUsec: pick(prev.throttledUsec, next.throttledUsec),
    quota: { ...prev.quota, ...next.quota },
  };
}

/**
 * The growth of a counter; a counter below its previous value means the cgroup was removed and
 * made again (counters restart at 0), so the whole new value is growth.
 */
function growth(prev: number | null, next: number | null): number {
  if (prev === null || next === null) return 0;
  return next >= prev ? next - prev : next;
}

/**
 * The events between `prev` and `next` (next may be partial, see CounterSnapshot). Throttling is
 * judged against the wall time between the two cpu readings (`prevCpuAtMs`, the time of the
 * reading that set prev.throttledUsec), scaled to a minute, so a shorter or longer sampling
 * interval keeps the same threshold.
 */
export function limitEvents(uid: number, prev: CounterSnapshot, next: CounterSnapshot, t: EventThresholds, prevCpuAtMs = prev.atMs): LimitEvent[] {
  const out: LimitEvent[] = [];
  const add = (resource: LimitResource, kind: LimitKind, count: number, path: string | null = null) => {
    if (count > 0) out.push({ uid, resource, kind, count, path });
  };
  add('memory', 'oom-kill', growth(prev.oomKill, next.oomKill));
  add('memory', 'high', growth(prev.memoryHigh, next.memoryHigh));
  add('tasks', 'max', growth(prev.tasksMax, next.tasksMax));
  const throttled = growth(prev.throttledUsec, next.throttledUsec);
  const elapsedMs = next.atMs - prevCpuAtMs;
  if (throttled > 0 && elapsedMs > 0 && (throttled * 60_000) / elapsedMs > t.throttleUsecPerMin) add('cpu', 'throttled', throttled);
  for (const [path, level] of Object.entries(next.quota).sort(([a], [b]) => a.localeCompare(b))) {
    const was = prev.quota[path] ?? 'ok';
    if (level === 'hard' && was !== 'hard') add('disk', 'quota', 1, path);
    else if (level === 'soft' && was === 'ok') add('disk', 'grace', 1, path);
  }
  return out;
}

/**
 * A user's level on one quota path. The kernel refuses the write that would pass the hard limit,
 * so usage stops just below it: within 1 MiB (or 1 % of a small limit) of it counts as reached.
 */
export function quotaLevel(usedBytes: number, softBytes: number, hardBytes: number): QuotaLevel {
  if (hardBytes > 0 && usedBytes >= hardBytes - Math.min(1024 * 1024, hardBytes / 100)) return 'hard';
  if (softBytes > 0 && usedBytes > softBytes) return 'soft';
  return 'ok';
}

/**
 * At most one terminal message per user and kind per interval: an OOM storm or a fork bomb must
 * not flood the user's terminals. Instance state (one per daemon), never global.
 */
export class MessageRateLimit {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** True (and the slot taken) when a message about `kind` may go to `uid` now. */
  take(uid: number, resource: LimitResource, kind: LimitKind, nowMs: number): boolean {
    const key = `${uid}:${resource}:${kind}`;
    const at = this.last.get(key);
    if (at !== undefined && nowMs - at < this.intervalMs) return false;
    this.last.set(key, nowMs);
    if (this.last.size > 10_000) this.forgetBefore(nowMs - this.intervalMs);
    return true;
  }

  /** Drops slots older than `cutoffMs` (they no longer hold anything back). */
  forgetBefore(cutoffMs: number): void {
    for (const [k, at] of this.last) if (at < cutoffMs) this.last.delete(k);
  }
}

/** Rows older than this (µs since the epoch) are pruned. */
export function retentionCutoffUsec(nowMs: number, retentionSec: number): number {
  return (nowMs - retentionSec * 1000) * 1000;
}

const WHAT: Record<LimitKind, string> = {
  'oom-kill': 'a process was killed: memory limit reached',
  high: 'memory use reached its high mark and is being slowed down',
  max: 'a new process was refused: task limit reached',
  throttled: 'CPU use was throttled at the CPU limit',
  quota: 'disk quota reached: writes fail',
  grace: 'disk use is over the soft quota: the grace period runs',
};

/** The one-line terminal message (plain ASCII, no control characters from outside). */
export function terminalMessage(e: LimitEvent): string {
  const n = e.kind === 'oom-kill' ? ` (${e.count} killed)` : e.kind === 'max' ? ` (${e.count} refused)` : '';
  const where = e.path !== null ? ` on ${e.path.replace(/[^\x20-\x7e]/g, '?')}` : '';
  return `diycloud: ${WHAT[e.kind]}${n}${where}. Run "diycloudctl limits" for your limits.`;
}
