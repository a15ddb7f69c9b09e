// Use case: turn cgroup counter samples and disk usage into limit events (journal, signal, row, terminal message).

import type { Config } from '../core/config';
import type { LimitEventRow, LimitEventSignals, LimitEventStore, LimitSample, LimitWatcher, TerminalNotifier } from '../core/event-ports';
import { EMPTY_SNAPSHOT, MessageRateLimit, limitEvents, mergeSnapshot, quotaLevel, retentionCutoffUsec, terminalMessage, type CounterSnapshot, type LimitEvent, type QuotaLevel } from '../core/limit-events';
import type { Logger } from '../core/ports';
import type { AppDeps } from './deps';
import { readDiskUsage } from './disk-usage';

export interface LimitEventDeps {
  readonly watcher: LimitWatcher;
  readonly store: LimitEventStore;
  readonly signals: LimitEventSignals;
  /** null: no terminal messages ([Events] TerminalMessages=no). */
  readonly terminals: TerminalNotifier | null;
  readonly log: Logger;
  readonly nowMs: () => number;
  readonly config: Config['events'];
  readonly isManaged: (uid: number) => boolean;
  /** Every managed user's level on each quota path (one bulk read per path); empty without quota paths. */
  readonly diskLevels: () => Promise<Map<number, Record<string, QuotaLevel>>>;
}

/** A snapshot with nothing read yet. */
const UNREAD: CounterSnapshot = { atMs: 0, oomKill: null, memoryHigh: null, tasksMax: null, throttledUsec: null, quota: {} };

/** GetUser's `events`: the newest 20 within retention. */
export const RECENT_EVENTS = 20;

/**
 * Per user, the last merged snapshot and when its cpu counter was read. A user's first sample is a
 * baseline (what the counters held before the daemon looked is not news) unless the watcher says
 * the cgroup is fresh, whose counters began at 0 after the watch began. Disk levels start as a
 * baseline too, so a restart does not repeat "over quota" for users already over.
 */
export class LimitEventRecorder {
  private readonly state = new Map<number, { snap: CounterSnapshot; cpuAtMs: number }>();
  private readonly rate: MessageRateLimit;
  private diskTimer: NodeJS.Timeout | null = null;
  private diskBaseline = true;

  constructor(private readonly deps: LimitEventDeps) {
    this.rate = new MessageRateLimit(deps.config.messageIntervalSec * 1000);
  }

  async start(): Promise<void> {
    await this.deps.watcher.start((s) => this.onSample(s));
    const tick = () => void this.diskTick();
    this.diskTimer = setInterval(tick, this.deps.config.sampleIntervalSec * 1000);
    this.diskTimer.unref();
    tick();
  }

  stop(): void {
    if (this.diskTimer) clearInterval(this.diskTimer);
    this.deps.watcher.stop();
  }

  onSample(s: LimitSample): void {
    if (!this.deps.isManaged(s.uid)) return;
    const had = this.state.get(s.uid);
    const prev = s.fresh ? { snap: { ...EMPTY_SNAPSHOT, quota: had?.snap.quota ?? {} }, cpuAtMs: 0 } : had;
    const cpuAtMs = s.counters.throttledUsec !== null ? s.counters.atMs : prev?.cpuAtMs ?? 0;
    if (!prev) {
      this.state.set(s.uid, { snap: mergeSnapshot(UNREAD, s.counters), cpuAtMs }); // a baseline: nothing to report
      return;
    }
    const events = limitEvents(s.uid, prev.snap, s.counters, { throttleUsecPerMin: this.deps.config.throttleUsecPerMin }, prev.cpuAtMs);
    this.state.set(s.uid, { snap: mergeSnapshot(prev.snap, s.counters), cpuAtMs });
    for (const e of events) this.record(e);
  }

  /** Disk levels and pruning, at the slow interval. */
  async diskTick(): Promise<void> {
    try {
      const levels = await this.deps.diskLevels();
      const baseline = this.diskBaseline;
      this.diskBaseline = false;
      const atMs = this.deps.nowMs();
      for (const [uid, quota] of levels) {
        if (!this.deps.isManaged(uid)) continue;
        const had = this.state.get(uid);
        const prevQuota = had?.snap.quota ?? {};
        const events = baseline ? [] : limitEvents(uid, { ...UNREAD, quota: prevQuota }, { ...UNREAD, atMs, quota }, { throttleUsecPerMin: this.deps.config.throttleUsecPerMin });
        this.state.set(uid, { snap: { ...(had?.snap ?? UNREAD), quota }, cpuAtMs: had?.cpuAtMs ?? 0 });
        for (const e of events) this.record(e);
      }
      const pruned = this.deps.store.prune(retentionCutoffUsec(this.deps.nowMs(), this.deps.config.retentionSec));
      if (pruned > 0) this.deps.log.debug(`limit events: ${pruned} rows older than the retention pruned`);
    } catch (e) {
      this.deps.log.warn(`limit events: disk usage check failed: ${(e as Error).message}, ignoring`);
    }
  }

  /** Journal line, row, signal, then (rate-limited, best effort) the terminals. */
  record(e: LimitEvent): void {
    const nowMs = this.deps.nowMs();
    const where = e.path !== null ? ` on ${e.path}` : '';
    this.deps.log.warn(`uid ${e.uid}: limit event ${e.resource} ${e.kind} (count ${e.count})${where}`, { uid: e.uid, resource: e.resource, kind: e.kind, count: e.count });
    try {
      this.deps.store.add({ uid: e.uid, resource: e.resource, kind: e.kind, count: e.count, atUsec: nowMs * 1000 });
    } catch (err) {
      this.deps.log.warn(`uid ${e.uid}: limit event not stored: ${(err as Error).message}, ignoring`, { uid: e.uid });
    }
    this.deps.signals.limitEvent(e.uid, e.resource, e.kind, e.count);
    const terminals = this.deps.terminals;
    if (terminals && this.deps.config.terminalMessages && this.rate.take(e.uid, e.resource, e.kind, nowMs)) {
      void terminals.notify(e.uid, terminalMessage(e));
    }
  }
}

/** Every managed user's quota level per path, from the bulk usage read GetUser uses too. */
export async function diskLevelsOf(deps: AppDeps): Promise<Map<number, Record<string, QuotaLevel>>> {
  const t = await readDiskUsage(deps);
  const out = new Map<number, Record<string, QuotaLevel>>();
  for (const p of t.paths) {
    if (p.state !== 'enforced' || !p.usage) continue;
    for (const [uid, u] of p.usage) {
      if (u.hardBytes === 0 && u.softBytes === 0) continue;
      out.set(uid, { ...out.get(uid), [p.path]: quotaLevel(u.usedBytes, u.softBytes, u.hardBytes) });
    }
  }
  return out;
}

/** GetUser's `events` field: newest first, within retention. */
export function recentLimitEvents(deps: AppDeps, uid: number): RecentEvent[] {
  const store = deps.limitEvents;
  if (!store) return [];
  return store.recent(uid, eventsSince(deps), RECENT_EVENTS).map(recentEvent);
}

/** recentLimitEvents of every uid, from one query (not one query per user); a uid without events has no entry. */
export function recentLimitEventsOfAll(deps: AppDeps): Map<number, RecentEvent[]> {
  return byUid(deps.limitEvents?.recentOfAll(eventsSince(deps), RECENT_EVENTS) ?? []);
}

/** recentLimitEvents of each of `uids` (a listing's rows, a page of QueryUsers), from one query; a uid without events has no entry. */
export function recentLimitEventsOf(deps: AppDeps, uids: readonly number[]): Map<number, RecentEvent[]> {
  return byUid(deps.limitEvents?.recentOfUids(uids, eventsSince(deps), RECENT_EVENTS) ?? []);
}

function byUid(rows: readonly LimitEventRow[]): Map<number, RecentEvent[]> {
  const out = new Map<number, RecentEvent[]>();
  for (const r of rows) {
    const list = out.get(r.uid);
    if (list) list.push(recentEvent(r));
    else out.set(r.uid, [recentEvent(r)]);
  }
  return out;
}

type RecentEvent = { at: string; resource: string; kind: string; count: number };
const recentEvent = (r: LimitEventRow): RecentEvent => ({ at: new Date(Math.floor(r.atUsec / 1000)).toISOString(), resource: r.resource, kind: r.kind, count: r.count });
const eventsSince = (deps: AppDeps): number => retentionCutoffUsec(deps.clock.now().getTime(), deps.config.events?.retentionSec ?? 7 * 86400);
