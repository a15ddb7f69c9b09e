// LimitEventStore on SQLite: the limit_events table (schema/007), on the daemon's one Database handle.

import type Database from 'better-sqlite3';
import type { LimitEventRow, LimitEventStore } from '../../core/event-ports';
import type { LimitKind, LimitResource } from '../../core/limit-events';

interface Row {
  uid: number;
  resource: LimitResource;
  kind: LimitKind;
  count: number;
  at_usec: number;
}

export class SqliteLimitEvents implements LimitEventStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      add: db.prepare('INSERT INTO limit_events (uid, resource, kind, count, at_usec) VALUES (?, ?, ?, ?, ?)'),
      recent: db.prepare('SELECT uid, resource, kind, count, at_usec FROM limit_events WHERE uid = ? AND at_usec >= ? ORDER BY at_usec DESC, id DESC LIMIT ?'),
      // Every uid's newest rows in one statement, in the same order as `recent` within each uid.
      recentOfAll: db.prepare(`SELECT uid, resource, kind, count, at_usec FROM (
          SELECT uid, resource, kind, count, at_usec, id, row_number() OVER (PARTITION BY uid ORDER BY at_usec DESC, id DESC) AS n FROM limit_events WHERE at_usec >= ?)
        WHERE n <= ? ORDER BY uid, at_usec DESC, id DESC`),
      // The same, for the listed uids only (a page of QueryUsers): the index on (uid, at_usec) finds them.
      recentOfUids: db.prepare(`SELECT uid, resource, kind, count, at_usec FROM (
          SELECT uid, resource, kind, count, at_usec, id, row_number() OVER (PARTITION BY uid ORDER BY at_usec DESC, id DESC) AS n FROM limit_events
          WHERE uid IN (SELECT value FROM json_each(?)) AND at_usec >= ?)
        WHERE n <= ? ORDER BY uid, at_usec DESC, id DESC`),
      prune: db.prepare('DELETE FROM limit_events WHERE at_usec < ?'),
    };
  }

  add(r: LimitEventRow): void {
    this.q.add.run(r.uid, r.resource, r.kind, Math.round(r.count), Math.round(r.atUsec));
  }

  recent(uid: number, sinceUsec: number, limit: number): LimitEventRow[] {
    return (this.q.recent.all(uid, Math.floor(sinceUsec), limit) as Row[]).map((r) => ({ uid: r.uid, resource: r.resource, kind: r.kind, count: r.count, atUsec: r.at_usec }));
  }

  recentOfAll(sinceUsec: number, limitPerUid: number): LimitEventRow[] {
    return (this.q.recentOfAll.all(Math.floor(sinceUsec), limitPerUid) as Row[]).map((r) => ({ uid: r.uid, resource: r.resource, kind: r.kind, count: r.count, atUsec: r.at_usec }));
  }

  recentOfUids(uids: readonly number[], sinceUsec: number, limitPerUid: number): LimitEventRow[] {
    if (uids.length === 0) return [];
    return (this.q.recentOfUids.all(JSON.stringify(uids), Math.floor(sinceUsec), limitPerUid) as Row[]).map((r) => ({ uid: r.uid, resource: r.resource, kind: r.kind, count: r.count, atUsec: r.at_usec }));
  }

  prune(beforeUsec: number): number {
    return this.q.prune.run(Math.floor(beforeUsec)).changes;
  }
}
