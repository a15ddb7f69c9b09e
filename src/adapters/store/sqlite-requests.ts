// RequestStore on SQLite: the limit_requests table (schema/010), on the daemon's one Database handle.

import type Database from 'better-sqlite3';
import type { LimitRequest, RequestFilter, RequestResource, RequestState, RequestStore } from '../../core/limit-request';

interface Row {
  id: number;
  uid: number;
  username: string;
  resource: RequestResource;
  amount: string;
  reason: string;
  state: RequestState;
  filed_at: string;
  decided_at: string | null;
  decided_by: number | null;
  decision_reason: string | null;
  applied: number;
}

const COLS = 'id, uid, username, resource, amount, reason, state, filed_at, decided_at, decided_by, decision_reason, applied';
const toRequest = (r: Row): LimitRequest => ({
  id: r.id, user: r.username, uid: r.uid, resource: r.resource, amount: r.amount, reason: r.reason, state: r.state,
  filedAt: r.filed_at, decidedAt: r.decided_at, decidedBy: r.decided_by, decisionReason: r.decision_reason, applied: r.applied === 1,
});

export class SqliteRequests implements RequestStore {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      add: db.prepare('INSERT INTO limit_requests (uid, username, resource, amount, reason, filed_at) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare(`SELECT ${COLS} FROM limit_requests WHERE id = ?`),
      pending: db.prepare("SELECT count(*) AS n FROM limit_requests WHERE uid = ? AND state = 'pending'"),
      decide: db.prepare("UPDATE limit_requests SET state = ?, decided_at = ?, decided_by = ?, decision_reason = ?, applied = ? WHERE id = ? AND state = 'pending'"),
    };
  }

  add(r: Parameters<RequestStore['add']>[0]): LimitRequest {
    const id = Number(this.q.add.run(r.uid, r.user, r.resource, r.amount, r.reason, r.filedAt).lastInsertRowid);
    return this.get(id) as LimitRequest;
  }

  get(id: number): LimitRequest | null {
    const r = this.q.get.get(id) as Row | undefined;
    return r ? toRequest(r) : null;
  }

  list(f: RequestFilter): { total: number; requests: LimitRequest[] } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.uid !== undefined) { where.push('uid = ?'); args.push(f.uid); }
    if (f.state !== 'all') { where.push('state = ?'); args.push(f.state); }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM limit_requests ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${COLS} FROM limit_requests ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, f.limit, f.offset) as Row[];
    return { total, requests: rows.map(toRequest) };
  }

  pendingCount(uid: number): number {
    return (this.q.pending.get(uid) as { n: number }).n;
  }

  saveDecision(r: LimitRequest): boolean {
    return this.q.decide.run(r.state, r.decidedAt, r.decidedBy, r.decisionReason, r.applied ? 1 : 0, r.id).changes === 1;
  }
}
