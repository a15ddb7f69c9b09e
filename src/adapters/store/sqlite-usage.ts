// UsageStore on SQLite: the usage_* tiers (schema/009), and the sessions and limit_events reads the portal needs.

import type Database from 'better-sqlite3';
import type { UsagePoint, UsageTierName } from '../../core/usage-history';
import type { EventRow, SessionRow, UsageStore, UsageTickWrite } from '../../core/usage-ports';

const TABLE: Record<UsageTierName, string> = { raw: 'usage_raw', '5min': 'usage_5min', '30min': 'usage_30min' };
const TIERS = Object.keys(TABLE) as UsageTierName[];

interface PointRow {
  t: number;
  cpu_centi: number;
  mem_bytes: number;
  disk_bytes: number | null;
  tasks: number | null;
}

const toPoint = (r: PointRow): UsagePoint => ({ tSec: r.t, cpuPercent: r.cpu_centi / 100, memoryBytes: r.mem_bytes, diskBytes: r.disk_bytes, tasks: r.tasks });

/**
 * Sample writes are not worth an fsync each: a tick's transaction commits under synchronous=NORMAL
 * (WAL: it reaches the disk with the next FULL commit or checkpoint; only a power loss can lose the
 * last ticks, never a crash of the daemon), and the connection goes back to FULL at once, so every
 * other commit keeps its guarantee (docs/database.md).
 */
export class SqliteUsage implements UsageStore {
  private readonly q;
  private readonly tick: (w: UsageTickWrite) => void;

  constructor(private readonly db: Database.Database) {
    const per = <T>(f: (table: string) => T): Record<UsageTierName, T> => ({ raw: f(TABLE.raw), '5min': f(TABLE['5min']), '30min': f(TABLE['30min']) });
    this.q = {
      insert: per((t) => db.prepare(`INSERT OR REPLACE INTO ${t} (uid, t, cpu_centi, mem_bytes, disk_bytes, tasks) VALUES (?, ?, ?, ?, ?, ?)`)),
      history: per((t) => db.prepare(`SELECT t, cpu_centi, mem_bytes, disk_bytes, tasks FROM ${t} WHERE uid = ? AND t >= ? ORDER BY t`)),
      pruneUid: per((t) => db.prepare(`DELETE FROM ${t} WHERE uid = ? AND t < ?`)),
      pruneAll: per((t) => db.prepare(`DELETE FROM ${t} WHERE t < ?`)),
      sessions: db.prepare('SELECT service, tty, rhost, opened_at, closed_at FROM sessions WHERE uid = ? ORDER BY id DESC LIMIT ?'),
      eventsOf: db.prepare('SELECT uid, resource, kind, count, at_usec FROM limit_events WHERE uid = ? AND at_usec >= ? ORDER BY at_usec DESC, id DESC LIMIT ?'),
      eventsAll: db.prepare('SELECT uid, resource, kind, count, at_usec FROM limit_events WHERE at_usec >= ? ORDER BY at_usec DESC, id DESC LIMIT ?'),
    };
    const ins = (tier: UsageTierName, uid: number, p: UsagePoint) =>
      this.q.insert[tier].run(uid, Math.round(p.tSec), Math.round(p.cpuPercent * 100), Math.round(p.memoryBytes), p.diskBytes === null ? null : Math.round(p.diskBytes), p.tasks === null ? null : Math.round(p.tasks));
    const tx = db.transaction((w: UsageTickWrite) => {
      for (const r of w.raw) ins('raw', r.uid, r.point);
      for (const b of w.buckets) ins(b.tier, b.uid, b.point);
      if (w.prune) for (const uid of w.prune.uids) for (const tier of TIERS) this.q.pruneUid[tier].run(uid, w.prune.cutoffs[tier]);
    });
    this.tick = (w) => {
      this.db.pragma('synchronous = NORMAL');
      try {
        tx(w);
      } finally {
        this.db.pragma('synchronous = FULL');
      }
    };
  }

  writeTick(w: UsageTickWrite): void {
    if (w.raw.length === 0 && w.buckets.length === 0 && !w.prune) return;
    this.tick(w);
  }

  history(uid: number, tier: UsageTierName, sinceSec: number): UsagePoint[] {
    return (this.q.history[tier].all(uid, Math.floor(sinceSec)) as PointRow[]).map(toPoint);
  }

  pruneAll(cutoffs: Readonly<Record<UsageTierName, number>>): number {
    return this.db.transaction(() => TIERS.reduce((n, tier) => n + this.q.pruneAll[tier].run(cutoffs[tier]).changes, 0))();
  }

  sessions(uid: number, limit: number): SessionRow[] {
    return (this.q.sessions.all(uid, limit) as { service: string; tty: string; rhost: string; opened_at: string; closed_at: string | null }[]).map((r) => ({ service: r.service, tty: r.tty, rhost: r.rhost, openedAt: r.opened_at, closedAt: r.closed_at }));
  }

  events(uid: number | null, sinceUsec: number, limit: number): EventRow[] {
    const rows = (uid === null ? this.q.eventsAll.all(Math.floor(sinceUsec), limit) : this.q.eventsOf.all(uid, Math.floor(sinceUsec), limit)) as { uid: number; resource: string; kind: string; count: number; at_usec: number }[];
    return rows.map((r) => ({ uid: r.uid, resource: r.resource, kind: r.kind, count: r.count, atUsec: r.at_usec }));
  }
}
